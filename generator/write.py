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
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
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

    try:  # the C library is already loaded: no find_library, which runs ldconfig and gcc
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
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


def _check_rel(rel: str) -> list[str]:
    """The parts of a relative output path, refusing anything that could leave the folder."""
    if not rel or rel.startswith(("/", "\\")) or "\\" in rel or "\x00" in rel:
        raise OutputError(f"refusing to write outside the output folder: {rel!r}")
    parts = rel.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise OutputError(f"refusing to write outside the output folder: {rel!r}")
    return parts


def _refuse_links(root: str, parts: list[str]) -> None:
    """Refuse a path through a symbolic link below `root`: a planted link must not carry a
    write out of the folder. (The folders a build makes itself hold no links.)"""
    here = root
    for part in parts:
        here = os.path.join(here, part)
        try:
            if stat.S_ISLNK(os.lstat(here).st_mode):
                raise OutputError(f"refusing to write through a link: {here}")
        except FileNotFoundError:
            return


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _create(target: str, data: bytes) -> None:
    """Write a new file, making its folder first (one mkdir, more only when needed)."""
    parent = os.path.dirname(target)
    try:
        os.mkdir(parent)
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(parent, exist_ok=True)
    fd = os.open(target, _NEW_FILE, 0o644)
    try:  # os.write on the descriptor: a file object around it cost about 9 us a page
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def write_new(root: Path, rel: str, data: str | bytes) -> None:
    """Write one new file below `root`, a folder this build made (so it holds no links); two
    files at one path (or a file where a folder is) is an error.

    Link checks that no address replaces another page; refusing here as well means no future
    page type can silently overwrite one.
    """
    parts = _check_rel(rel)
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        _create(os.path.join(root, *parts), data)
    except (FileExistsError, NotADirectoryError, IsADirectoryError):
        raise OutputError(f"two outputs would be written at {rel}; refusing to overwrite"
                          " one with the other") from None


def _cleared(root: Path, rel: str) -> str:
    """`root/rel` in a clone of the published site, made free for a new file: the old one is
    unlinked (it is a hard link to the live copy, which must not change), never followed."""
    parts = _check_rel(rel)
    _refuse_links(str(root), parts[:-1])
    target = os.path.join(root, *parts)
    with suppress(FileNotFoundError):
        os.unlink(target)
    return target


def replace_file(root: Path, rel: str, data: bytes) -> None:
    """Put new bytes at `root/rel` in a clone of the published site."""
    _create(_cleared(root, rel), data)


def remove_file(root: Path, rel: str) -> None:
    """Remove `root/rel` from a clone, and the folders it leaves empty."""
    parts = _check_rel(rel)
    _refuse_links(str(root), parts[:-1])
    target = root.joinpath(*parts)
    target.unlink(missing_ok=True)
    parent = target.parent
    while parent != root and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


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


def lock_path(out: Path) -> Path:
    out = out.absolute()
    return out.parent / f".{out.name}.lock"


@contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold the output folder's lock: two builds never write the same output at once."""
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(out), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def journal_path(out: Path) -> Path:
    out = out.absolute()
    return out.parent / f".{out.name}.journal"


def _copy_with_links(source: Path, target: Path) -> None:
    """Copy a folder tree with hard links (no data is copied), links kept as links."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:  # a file system without hard links: copy instead
            shutil.copy2(src, dst)

    shutil.copytree(source, target, symlinks=True, copy_function=link)


Changes = tuple[tuple[str, ...], tuple[str, ...]]
"""The files an update wrote (replaced or added) and the files it removed."""


def spare_path(out: Path) -> Path:
    return out.absolute().parent / f".{out.absolute().name}.spare"


_MAKE_SPARE = """
import fcntl, os, shutil, subprocess, sys
out, spare, lock = sys.argv[1:]
fcntl.flock(os.open(lock, os.O_RDWR | os.O_CREAT, 0o644), fcntl.LOCK_EX)
tmp = f"{spare}.trash-{os.getpid()}"
if not os.path.exists(spare) and os.path.isdir(out):
    if subprocess.run(["cp", "-al", "--", out, tmp]).returncode == 0:
        os.rename(tmp, spare)
shutil.rmtree(tmp, True)
"""


def make_spare(out: Path) -> bool:
    """Start making a spare for the next update of a site a cold build has just written (see
    `Update`), in a detached process; True if one was started (with GNU cp, on Linux).

    Without it, the first update after a cold build waited for its own `cp -al` of the whole
    site (0.4 s of a one-record rebuild at 10,000 pages). The process takes the output's lock
    first, so it copies the site the build committed, after the build has let go, and no
    build changes the folder meanwhile. It copies under a name ending in `.trash-<pid>`
    (what a killed copy leaves, a cold build deletes) and renames the copy to the spare only
    when it is whole, and only if there is none: an update that came first made its own.
    """
    if not (sys.platform.startswith("linux") and shutil.which("cp")):
        return False
    out = out.absolute()
    subprocess.Popen(
        [sys.executable, "-c", _MAKE_SPARE, str(out), str(spare_path(out)), str(lock_path(out))],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return True


class Update:
    """An incremental build applied to the published folder (the caller holds the lock).

    The published tree is cloned beside it with hard links, changed files are written into the
    clone as new files (never through a link, so the published copies stay as they are), and
    the clone is swapped in whole, as a cold build's staging folder is: readers, and a build
    killed at any moment, see the old site or the new one, never a mix. A journal marks the
    update as under way; if the build is killed, the next one finds it and rebuilds cold
    instead of trusting the cache's manifest.

    Cloning 10,000 page folders takes seconds, so the tree an update swaps out is kept as the
    spare: it is the site before that update, hard links to the same files but for the ones the
    update changed (a cold build has one made as well: `make_spare`). The next update brings
    it level with only those (`last`, from the manifest) and uses it as its clone. Without a
    spare, the clone is started on entry, by GNU cp in the background where there is one, so
    that it overlaps reading and linking the records; `ready()` waits for it.
    """

    def __init__(self, out: Path, files: int, last: Changes | None = None) -> None:
        """`files`: about how many files the folder holds (how to delete the old tree);
        `last`: what the update that wrote the folder changed, when it left a spare."""
        self.out = out.absolute()
        self.journal = journal_path(self.out)
        self.clone = self.out.parent / f".{self.out.name}.building"
        self.spare = spare_path(self.out)
        self._previous = self.out.parent / f".{self.out.name}.previous"
        self._files = files
        self._last = last
        self._copying: subprocess.Popen[bytes] | None = None
        self._ready = False
        self._committed = False

    def __enter__(self) -> Update:
        self.journal.write_text("an incremental update of this folder is under way\n")
        for leftover in (self.clone, self._previous):
            if leftover.exists():
                shutil.rmtree(leftover)
        if self._last is not None and self.spare.is_dir():
            os.rename(self.spare, self.clone)  # from here on the journal covers it
            self._level_spare(*self._last)
            self._ready = True
            return self
        if self.spare.exists():
            dispose(self.spare, self._files)
        if sys.platform.startswith("linux") and shutil.which("cp"):
            self._copying = subprocess.Popen(
                ["cp", "-al", "--", str(self.out), str(self.clone)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def _level_spare(self, written: tuple[str, ...], removed: tuple[str, ...]) -> None:
        """Make the spare (now at the clone's place) a hard-link copy of the published site."""
        for rel in written:
            target = _cleared(self.clone, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.link(os.path.join(self.out, *_check_rel(rel)), target)
        for rel in removed:
            remove_file(self.clone, rel)

    def ready(self) -> Path:
        """The finished clone (made here, in Python, if cp could not make it)."""
        if not self._ready:
            if self._copying is None or self._copying.wait() != 0:
                shutil.rmtree(self.clone, ignore_errors=True)
                _copy_with_links(self.out, self.clone)
            self._ready = True
        return self.clone

    def remove(self, rel: str) -> None:
        remove_file(self.ready(), rel)

    def commit(self) -> None:
        """Swap the clone in; the tree swapped out becomes the next update's spare."""
        if _exchange(self.ready(), self.out):
            self._committed = True
            os.rename(self.clone, self.spare)
        else:
            os.rename(self.out, self._previous)
            os.rename(self.clone, self.out)
            self._committed = True
            os.rename(self._previous, self.spare)
        self.journal.unlink()

    def keep(self) -> bool:
        """Nothing to change: a finished clone is level with the published site, so it stays
        as the next update's spare (True; the caller records that no files changed). An
        update that changed nothing used to drop it, and the next one copied the whole tree."""
        if not self._ready:
            return False  # cp may still be running: dropped on exit
        os.rename(self.clone, self.spare)
        self._committed = True
        self.journal.unlink()
        return True

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._committed:
            return
        # Failed, or nothing to change: the published site is untouched; drop the clone.
        if self._copying is not None and self._copying.poll() is None:
            self._copying.kill()
            self._copying.wait()
        if self.clone.exists():
            dispose(self.clone, self._files)
        self.journal.unlink(missing_ok=True)


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
        self._lock_path = lock_path(self.out)
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
        spare = spare_path(self.out)
        if spare.exists():  # an update's spare matches no site a cold build writes
            dispose(spare, BACKGROUND_DELETE_FILES)
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
