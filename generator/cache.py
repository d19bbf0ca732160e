"""The build cache in `.fixdex-cache/`: what a rebuild can skip.

Two things are kept, both keyed by content so that a stale entry can never be used:
- validated records, keyed by the file's path and bytes plus everything validation depends on
  (site settings, today's date, the generator's version), so unchanged files are not parsed;
- for each output folder, a manifest of the input key of every error page and the digest of
  every file written, so unchanged pages are neither re-rendered nor re-written.
The cache is a local file written by fixdex itself; `--no-cache` ignores it.

A cache file is pickled, and unpickling runs code: since a pull request can add any file to
a checkout (a fake `.fixdex-cache/` too), every file carries an HMAC made with a per-user key
kept outside every project, and a file whose HMAC does not match is never unpickled.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import secrets
import stat
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__

FORMAT = 8


def _code_identity() -> str:
    """The generator's version and a digest of its own source: a cache written by any other
    code (an older release, a local edit) is ignored rather than unpickled into objects whose
    class has changed since."""
    h = hashlib.blake2b(digest_size=8)
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return f"{__version__}+{h.hexdigest()}"


CODE_IDENTITY = _code_identity()
SHARDS = 16
"""The record cache is split by key so that one changed record rewrites one small file."""


def shard_of(key: bytes) -> int:
    return key[0] % SHARDS


def digest(*parts: bytes | str) -> bytes:
    """A short, stable digest of the parts (stable across processes, unlike `hash`)."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.digest()


def tree_digest(root: Path) -> bytes:
    """Digest of every file below a folder (names and bytes): the templates' identity."""
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(root.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(root).as_posix().encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    return h.digest()


@dataclass
class Manifest:
    """What is in an output folder: file -> digest of its bytes; page -> its input key."""

    files: dict[str, bytes] = field(default_factory=dict)
    page_keys: dict[str, bytes] = field(default_factory=dict)
    fingerprint: bytes = b""
    """`inputs_fingerprint` of the build that wrote the folder: equal now means nothing to do."""
    report: str = ""
    """What that build printed (its warnings), shown again by a build with nothing to do."""
    summary: str = ""
    site_key: bytes = b""
    """What every page of the folder depends on (the generator, settings, templates)."""
    changes: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    """What the update that wrote the folder changed (files written, files removed), when it
    left its old tree as the spare for the next update (see `write.Update`)."""


_MAC_BYTES = 32

Stamp = tuple[int, int, int, int]
"""A file's size, modification time, inode and change time (all in ns where a time)."""
STAMP_SETTLE_NS = 2_000_000_000
"""A stamp is trusted only for a file last changed this long before it was taken: a file
written again within the same clock tick would otherwise keep its stamp (git's "racily
clean" entries)."""


@dataclass
class Scan:
    """The input files' `lstat`s as `inputs_fingerprint` took them, and when it began: a build
    takes its stamps from them instead of asking again for each of 10,000 files."""

    began_ns: int = 0
    stats: dict[str, os.stat_result] = field(default_factory=dict)


def stamp(path: str, seen: os.stat_result | None = None) -> Stamp | None:
    """What tells, without reading a file, that it has not changed since a build read it: its
    size, times and inode (a replaced file has a new one). None when it cannot be read.
    `seen`: the file's `lstat` taken earlier in this build, used unless it is a link."""
    if seen is not None and not stat.S_ISLNK(seen.st_mode):
        st = seen
    else:
        try:
            st = os.stat(path)
        except OSError:
            return None
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


def _secret() -> bytes | None:
    """This user's key for cache files (made on first use, readable by the user only); None
    when it cannot be kept, which turns the cache off."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = base / "fixdex" / "cache-key"
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(_MAC_BYTES))
        except FileExistsError:
            pass  # another build made it first
        except OSError:
            return None
        try:
            key = path.read_bytes()
        except OSError:
            return None
    except OSError:
        return None
    return key if len(key) == _MAC_BYTES else None


class Cache:
    """Loads and saves the cache files; every failure to read one means "no cache"."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        return self.root / f"{name}.v{FORMAT}.pickle"

    def _load(self, name: str) -> Any:
        key = _secret()
        try:
            data = self._path(name).read_bytes()
        except OSError:
            return None
        mac, body = data[:_MAC_BYTES], data[_MAC_BYTES:]
        if key is None or not hmac.compare_digest(mac, hmac.new(key, body, "sha256").digest()):
            return None  # not written by fixdex for this user: never unpickle it
        try:
            version, value = pickle.loads(body)
        except (EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError,
                ImportError):
            return None
        return value if version == CODE_IDENTITY else None

    def _save(self, name: str, value: Any) -> None:
        key = _secret()
        if key is None:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        body = pickle.dumps((CODE_IDENTITY, value), protocol=pickle.HIGHEST_PROTOCOL)
        tmp = self._path(name).with_suffix(f".{os.getpid()}-{secrets.token_hex(4)}.tmp")
        tmp.write_bytes(hmac.new(key, body, "sha256").digest() + body)
        os.replace(tmp, self._path(name))  # a name of its own: two builds may save at once

    def records(self) -> dict[bytes, bytes]:
        """Every cached record, by key (from all shards), still pickled and without its body
        (what its page shows; `bodies` has those): the build unpickles only those it finds unchanged."""
        found: dict[bytes, bytes] = {}
        for shard in range(SHARDS):
            found.update(self._load(f"records-{shard:02x}") or {})
        return found

    def bodies(self, keys: Collection[bytes]) -> Iterator[tuple[bytes, bytes]]:
        """The bodies (pickled `RecordPart`s) of these keys, read from the shards that hold them: a
        rebuild needs only those whose pages it renders again. A lost one is left out. One
        shard at a time: a caller that copies them elsewhere never holds them all twice."""
        for shard in sorted({shard_of(k) for k in keys}):
            stored = self._load(f"bodies-{shard:02x}") or {}
            yield from ((k, stored[k]) for k in keys if k in stored)

    def save_records(self, records: dict[bytes, bytes], bodies: Mapping[bytes, bytes],
                     shards: set[int]) -> None:
        """Rewrite the given shards with the records that fall in them (and no others).

        `records` holds every record of the build; `bodies` the bodies this build
        made. Those of the other records in a rewritten shard are carried over from it.
        """
        by_shard: dict[int, dict[bytes, bytes]] = {shard: {} for shard in shards}
        for k, v in records.items():
            if (kept := by_shard.get(shard_of(k))) is not None:
                kept[k] = v
        for shard, kept in sorted(by_shard.items()):
            self._save(f"records-{shard:02x}", kept)
            carried = kept.keys() - bodies.keys()
            old = (self._load(f"bodies-{shard:02x}") or {}) if carried else {}
            self._save(f"bodies-{shard:02x}", {k: body for k in kept
                                               if (body := bodies.get(k) or old.get(k))})

    def stamps(self, ctx_key: bytes) -> dict[str, tuple[Stamp, bytes]]:
        """Each record file's stamp and cache key, as the last build saw them, if that build
        validated under the same `ctx_key`."""
        found = self._load("stamps")
        return found[1] if found is not None and found[0] == ctx_key else {}

    def save_stamps(self, ctx_key: bytes, stamps: dict[str, tuple[Stamp, bytes]]) -> None:
        self._save("stamps", (ctx_key, stamps))

    def template_code(self, name: str) -> bytes | None:
        return self._load(f"template-{digest(name).hex()[:16]}")

    def save_template_code(self, name: str, code: bytes) -> None:
        self._save(f"template-{digest(name).hex()[:16]}", code)

    def _manifest_name(self, out: Path) -> str:
        return "manifest-" + digest(str(out.resolve())).hex()[:16]

    def manifest(self, out: Path) -> Manifest | None:
        return self._load(self._manifest_name(out))

    def save_manifest(self, out: Path, manifest: Manifest) -> None:
        self._save(self._manifest_name(out), manifest)

    def forget_manifest(self, out: Path) -> None:
        self._path(self._manifest_name(out)).unlink(missing_ok=True)


def inputs_fingerprint(*folders: Path, extra: str = "", scan: Scan | None = None) -> bytes:
    """Names, sizes, times and inodes of every input file, plus `extra` (today's date, the
    output folder, the options): if this is unchanged since a good build, so is the site. (An
    edit can keep a file's size and modification time, never its change time.)

    Only `os.scandir` and `stat`, so a no-op rebuild answers before anything is parsed. Empty
    (trust nothing) while a file changed within `STAMP_SETTLE_NS`: a second edit in the same
    clock tick would leave every stamp as it was. `scan` gets every file's `lstat`.
    """
    if scan is not None:
        scan.began_ns = time.time_ns()
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{CODE_IDENTITY}\0{extra}\0".encode())
    newest = 0
    for folder in folders:
        stack = [str(folder)]
        while stack:
            current = stack.pop()
            try:
                entries = sorted(os.scandir(current), key=lambda e: e.name)
            except OSError:
                h.update(f"unreadable {current}\0".encode())
                continue
            for item in entries:
                st = item.stat(follow_symlinks=False)
                if item.is_dir(follow_symlinks=False):
                    stack.append(item.path)
                elif scan is not None:
                    scan.stats[item.path] = st
                newest = max(newest, st.st_mtime_ns, st.st_ctime_ns)
                h.update(f"{item.path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_mode}\0"
                         f"{st.st_ino}\0{st.st_ctime_ns}\0".encode())
    return h.digest() if newest < time.time_ns() - STAMP_SETTLE_NS else b""
