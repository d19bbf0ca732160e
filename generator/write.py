"""Stage 5: write the output so that the published folder is always a whole, good site.

Files go to a hidden folder beside the output; only when every file is written is it swapped
into place (an atomic exchange of the two folders on Linux, two renames elsewhere). A failed
or killed build therefore leaves the previous site exactly as it was. A lock keeps two builds
from interleaving.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

MARKER = ".fixdex-output"
MARKER_TEXT = b"Written by fixdex; replaced by every build.\n"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class OutputError(Exception):
    """The output folder cannot be used (a usage problem, not a content problem)."""


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2(RENAME_EXCHANGE); False where unsupported."""
    import ctypes  # only when a build is about to be swapped in: it is slow to import
    import ctypes.util

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


def write_new(root: Path, rel: str, data: str | bytes) -> None:
    """Write one new file below `root`; two files at one path (or a file where a folder is) is
    an error.

    Link checks that no address replaces another page; refusing here as well means no future
    page type can silently overwrite one.
    """
    target = safe_target(root, rel)
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as file:
            file.write(data)
    except (FileExistsError, NotADirectoryError, IsADirectoryError):
        raise OutputError(f"two outputs would be written at {rel}; refusing to overwrite"
                          " one with the other") from None


BACKGROUND_DELETE_FILES = 2000


def dispose(tree: Path, files: int) -> None:
    """Remove an old output tree. A large one is renamed aside and deleted by a detached
    process, so the build does not wait for thousands of directory removals."""
    if files < BACKGROUND_DELETE_FILES:
        shutil.rmtree(tree)
        return
    trash = tree.with_name(f"{tree.name}.trash-{os.getpid()}-{time.time_ns()}")
    os.rename(tree, trash)
    subprocess.Popen(
        [sys.executable, "-c", "import shutil, sys; shutil.rmtree(sys.argv[1], True)", str(trash)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold the output folder's lock: two builds never write the same output at once."""
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out.parent / f".{out.name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def journal_path(out: Path) -> Path:
    out = out.absolute()
    return out.parent / f".{out.name}.journal"


def update_in_place(out: Path, changed: dict[str, bytes], removed: list[str]) -> None:
    """Apply an incremental build to the published folder (the caller holds the lock).

    The published tree is cloned beside it with hard links (no data is copied), the changed
    files are written into the clone as new files (never through a link, so the published
    copies stay as they are), and the clone is swapped in whole, as a cold build's staging
    folder is: readers, and a build killed at any moment, see the old site or the new one,
    never a mix. A journal marks the update as under way; if the build is killed, the next
    one finds it and rebuilds cold instead of trusting the cache's manifest.
    """
    out = out.absolute()
    journal = journal_path(out)
    journal.write_text("\n".join(sorted([*changed, *removed])) + "\n")
    staging = out.parent / f".{out.name}.building"
    previous = out.parent / f".{out.name}.previous"
    for leftover in (staging, previous):
        if leftover.exists():
            shutil.rmtree(leftover)
    files = 0

    def link(source: str, target: str) -> None:
        nonlocal files
        files += 1
        try:
            os.link(source, target)
        except OSError:  # a file system without hard links: copy instead
            shutil.copy2(source, target)

    shutil.copytree(out, staging, symlinks=True, copy_function=link)
    for rel, data in sorted(changed.items()):
        target = safe_target(staging, rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)  # a new file: the old one is still the live site's
        target.write_bytes(data)
    for rel in sorted(removed):
        target = safe_target(staging, rel)
        target.unlink(missing_ok=True)
        parent = target.parent
        while parent != staging and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    if _exchange(staging, out):
        dispose(staging, files)
    else:
        os.rename(out, previous)
        os.rename(staging, out)
        dispose(previous, files)
    journal.unlink()


def check_usable(out_path: Path, protected: tuple[Path, ...] = ()) -> None:
    """Refuse an output folder that would replace an input, or that fixdex did not write."""
    out = out_path.resolve()
    for path in protected:
        path = path.resolve()
        if out == path or path.is_relative_to(out):
            raise OutputError(f"the output folder {out_path} would replace {path}")
    if out.exists() and not out.is_dir():
        raise OutputError(f"the output {out_path} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise OutputError(
            f"{out_path} is not empty and was not written by fixdex; choose another --out"
        )


class Output:
    """A transaction on the output folder: `with Output(out) as o: o.write(...); o.commit()`."""

    def __init__(self, out: Path, protected: tuple[Path, ...] = (), lock: bool = True) -> None:
        """`lock=False` when the caller already holds `locked(out)` (a second flock of the
        same file from one process would wait for itself)."""
        self.out = out.absolute()
        self._take_lock = lock
        self.staging = self.out.parent / f".{self.out.name}.building"
        self.previous = self.out.parent / f".{self.out.name}.previous"
        self._lock_path = self.out.parent / f".{self.out.name}.lock"
        self._lock_fd: int | None = None
        self._committed = False
        check_usable(self.out, protected)

    def __enter__(self) -> Output:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        if self._take_lock:
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        # A build killed between the two fallback renames leaves the old site aside: restore it.
        if not self.out.exists() and self.previous.is_dir():
            os.rename(self.previous, self.out)
        for leftover in (self.staging, self.previous):
            if leftover.exists():
                shutil.rmtree(leftover)
        for trash in self.out.parent.glob(f".{self.out.name}.*.trash-*"):
            dispose(trash, BACKGROUND_DELETE_FILES)  # a killed background delete: finish it
        self.staging.mkdir()
        (self.staging / MARKER).write_bytes(MARKER_TEXT)
        return self

    def write(self, rel: str, data: str | bytes) -> None:
        write_new(self.staging, rel, data)

    def commit(self, files: int = 0) -> None:
        """Put the finished site (of about `files` files) in place of the old one."""
        if self.out.exists():
            if _exchange(self.staging, self.out):
                self._committed = True
                dispose(self.staging, files)
            else:
                os.rename(self.out, self.previous)
                os.rename(self.staging, self.out)
                self._committed = True
                dispose(self.previous, files)
        else:
            os.rename(self.staging, self.out)
            self._committed = True
        journal_path(self.out).unlink(missing_ok=True)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if not self._committed and self.staging.exists():
                shutil.rmtree(self.staging)
        finally:
            if self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
