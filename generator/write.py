"""Stage 5: write the output so that the published folder is always a whole, good site.

Files go to a hidden folder beside the output; only when every file is written is it swapped
into place (an atomic exchange of the two folders on Linux, two renames elsewhere). A failed
or killed build therefore leaves the previous site exactly as it was. A lock keeps two builds
from interleaving.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
import shutil
from pathlib import Path
from types import TracebackType

MARKER = ".fixdex-output"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class OutputError(Exception):
    """The output folder cannot be used (a usage problem, not a content problem)."""


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2(RENAME_EXCHANGE); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def safe_target(root: Path, rel: str) -> Path:
    """`root/rel`, refusing any path that would land outside `root`."""
    if not rel or rel.startswith(("/", "\\")) or "\\" in rel or "\x00" in rel:
        raise OutputError(f"refusing to write outside the output folder: {rel!r}")
    parts = rel.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise OutputError(f"refusing to write outside the output folder: {rel!r}")
    target = root.joinpath(*parts)
    if not target.resolve().is_relative_to(root.resolve()):
        raise OutputError(f"refusing to write outside the output folder: {rel!r}")
    return target


class Output:
    """A transaction on the output folder: `with Output(out) as o: o.write(...); o.commit()`."""

    def __init__(self, out: Path, protected: tuple[Path, ...] = ()) -> None:
        self.out = out.absolute()
        self.staging = self.out.parent / f".{self.out.name}.building"
        self.previous = self.out.parent / f".{self.out.name}.previous"
        self._lock_path = self.out.parent / f".{self.out.name}.lock"
        self._lock_fd: int | None = None
        self._committed = False
        self._check_usable(protected)

    def _check_usable(self, protected: tuple[Path, ...]) -> None:
        out = self.out.resolve()
        for path in protected:
            path = path.resolve()
            if out == path or path.is_relative_to(out):
                raise OutputError(f"the output folder {self.out} would replace {path}")
        if out.exists() and not out.is_dir():
            raise OutputError(f"the output {self.out} exists and is not a folder")
        if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
            raise OutputError(
                f"{self.out} is not empty and was not written by fixdex; choose another --out"
            )

    def __enter__(self) -> Output:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        # A build killed between the two fallback renames leaves the old site aside: restore it.
        if not self.out.exists() and self.previous.is_dir():
            os.rename(self.previous, self.out)
        for leftover in (self.staging, self.previous):
            if leftover.exists():
                shutil.rmtree(leftover)
        self.staging.mkdir()
        (self.staging / MARKER).write_text("Written by fixdex; replaced whole on every build.\n")
        return self

    def write(self, rel: str, data: str | bytes) -> None:
        target = safe_target(self.staging, rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            data = data.encode("utf-8")
        target.write_bytes(data)

    def copy_tree(self, source: Path, rel: str) -> None:
        """Copy a folder of static files (skipping links, so nothing outside leaks in)."""
        for path in sorted(source.rglob("*")):
            if path.is_file() and not path.is_symlink():
                self.write(f"{rel}/{path.relative_to(source).as_posix()}", path.read_bytes())

    def commit(self) -> None:
        """Put the finished site in place of the old one."""
        if self.out.exists():
            if _exchange(self.staging, self.out):
                shutil.rmtree(self.staging)
            else:
                os.rename(self.out, self.previous)
                os.rename(self.staging, self.out)
                shutil.rmtree(self.previous)
        else:
            os.rename(self.staging, self.out)
        self._committed = True

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if not self._committed and self.staging.exists():
                shutil.rmtree(self.staging)
        finally:
            if self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
