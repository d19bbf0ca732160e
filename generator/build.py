"""The pipeline: load -> validate -> link, then render -> write.

Two passes, as in zola: the first gathers and checks everything and collects every problem;
only a clean first pass reaches the second, which renders and writes. `check` is the same run
without the write.

Speed comes from three places, none of which changes the output: records and pages are
processed by worker processes on every core; unchanged record files are not parsed again
(the cache); unchanged pages are neither rendered nor written again (the manifest). An
incremental build's output is byte-identical to a cold build's.

Who does what: workers parse, validate and note records and send each back pickled (those
bytes are what the cache stores); the main process keeps a record's `Head` and its body (what
its page shows of it, a `render.RecordPart`, pickled), checks and links the set, and forks
the render workers, which get index ranges of the site they inherit, write each file they
make and send back its digest.
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import select
import sys
import time
from collections.abc import Callable, Iterable, Iterator, KeysView, Mapping, Sequence
from contextlib import nullcontext, suppress
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

from jinja2 import TemplateError, TemplateSyntaxError

from .cache import (
    CODE_IDENTITY,
    STAMP_SETTLE_NS,
    Cache,
    Manifest,
    Scan,
    Stamp,
    digest,
    shard_of,
    stamp,
    tree_digest,
)
from .errors import ContentErrors, Problem, display_path, errors_only
from .link import HubKind, Site, link, name_slug, page_file
from .load import MAX_FILE_BYTES, SITE_FILE, find_record_files, read_limited
from .lookup import RecordTokens, index_digest, record_tokens
from .model import ValidationContext
from .project import Project
from .quality import Notes, PackedNotes, content_warnings, record_notes
from .render import (
    STATIC_DIR,
    CompiledTemplates,
    Inputs,
    RecordPart,
    Renderer,
    Shows,
    row_digest,
)
from .report import format_problems
from .validate import Entry, Head, check_entries, load_site, validate_record
from .workers import ForkMap, WorkerLost, outcome
from .write import (
    MARKER,
    MARKER_TEXT,
    Output,
    Update,
    check_usable,
    journal_path,
    locked,
    make_spare,
    replace_file,
    write_new,
)

T = TypeVar("T")

PARALLEL_MIN = 300
"""Below this many records (or pages), starting worker processes costs more than it saves."""
ROWS_PER_PAGE = 100
"""About how many rows of a listing (a hub, the sitemap, the search index) cost as much to
render as one error page: the measure of a listing's share of `PARALLEL_MIN`."""
COLLECT_EVERY = 64
"""Records read in this process between two collections of young cyclic garbage: the build
pauses the automatic collector, but parsing leaves cycles behind."""


class Processed(NamedTuple):
    """A valid record as a worker sends it back and the cache keeps it, pickled: its cache
    key, `shown_digest`, the parts of its `Entry`, its quality notes and its lookup tokens.

    Flat, and what only some builds need stays pickled inside (the sentences' locations,
    the tokens): every rebuild unpickles all ten thousand of these, where nested objects cost
    about five times as much. Its body (what its page shows of it) travels and is cached beside it
    (`_Bodies`), and a record taken from the cache comes without it: `_with_records` fetches
    it only if its page is rendered again.
    """

    key: bytes
    shown: bytes
    """Digest of what other pages show of the record (`shown_digest`)."""
    listed: bytes
    """Digest of what a row of a listing shows of it (`row_digest`)."""
    indexed: bytes
    """Digest of what the search index holds of it (`index_digest`)."""
    head: Head
    slug: str
    platform_slug: str
    file: str
    display: str
    notes: PackedNotes
    tokens: bytes
    """The pickled `RecordTokens`: unpickled only when the search index is made."""

    @classmethod
    def of(cls, key: bytes, entry: Entry, notes: Notes, tokens: RecordTokens) -> Processed:
        return cls(key, shown_digest(entry), row_digest(entry), index_digest(entry), entry.head,
                   entry.slug, entry.platform_slug, entry.file, entry.display,
                   PackedNotes.of(entry, notes),
                   pickle.dumps(tokens, protocol=pickle.HIGHEST_PROTOCOL))

    def entry(self, body: bytes | memoryview = b"") -> Entry:
        """Its entry, with its body when given (else to be fetched if needed)."""
        return Entry(self.head, self.slug, self.platform_slug, self.file, self.display, body)


class Unpickled(Mapping[str, Any]):
    """A mapping whose values stay pickled until looked up."""

    def __init__(self, pickled: dict[str, bytes]) -> None:
        self._pickled = pickled

    def __getitem__(self, key: str) -> Any:
        return pickle.loads(self._pickled[key])

    def __contains__(self, key: object) -> bool:
        return key in self._pickled

    def __iter__(self) -> Iterator[str]:
        return iter(self._pickled)

    def __len__(self) -> int:
        return len(self._pickled)


def shown_digest(entry: Entry) -> bytes:
    """Digest of everything other pages may show of a record: its address and its head. The
    keys of listings and of related links are made of these, so a build keys 10,000 pages by
    joining short digests instead of formatting every head again for every page."""
    return digest(entry.url_path, repr(entry.head))


@dataclass
class BuildResult:
    site: Site | None
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    written: int = 0
    tokens: Mapping[str, RecordTokens] = field(default_factory=dict)
    """Each valid record's lookup tokens, by slug (for the search index)."""
    record_keys: dict[str, bytes] = field(default_factory=dict)
    """Each valid record's cache key, by slug (part of its page's key)."""
    shown: dict[str, bytes] = field(default_factory=dict)
    """Each valid record's `shown_digest`, by slug (part of the keys of pages that list it)."""
    listed: dict[str, bytes] = field(default_factory=dict)
    """Each valid record's `row_digest`, by slug (part of the keys of listings of rows)."""
    indexed: dict[str, bytes] = field(default_factory=dict)
    """Each valid record's `index_digest`, by slug (part of the search index's key)."""
    ctx: ValidationContext | None = None
    """What the records were validated against."""
    pending: list[_Forked[list[Problem]]] = field(default_factory=list)
    """Checks of the whole set still running in children (`gather(defer=True)`): their
    problems join `problems` when `settle` collects them."""

    @property
    def ok(self) -> bool:
        """No error so far (final once `settle` has collected every pending check)."""
        return not errors_only(self.problems)

    def settle(self, wait: bool = True) -> None:
        """Take the problems of the pending checks: of all of them (waiting for those still
        running), or, `wait=False`, of those that have finished."""
        done = [child for child in self.pending if wait or child.ready()]
        if not done:
            return
        self.pending = [child for child in self.pending if child not in done]
        for child in done:
            self.problems.extend(child.result())
        self.problems.sort()

    def failed(self) -> bool:
        """Whether a check that has finished found an error (it does not wait for the rest)."""
        self.settle(wait=False)
        return not self.ok


class Progress:
    """A one-line progress count on a terminal, for builds that take more than a second."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, total, 0
        self.start = time.monotonic()
        self.enabled = sys.stderr.isatty() and not os.environ.get("CI")
        self.shown = False

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.enabled and time.monotonic() - self.start > 1:
            self.shown = True
            print(f"\r{self.label} {self.done}/{self.total}", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.shown:
            print("\r\033[K", end="", file=sys.stderr, flush=True)


def _parallel(jobs: int, work: int) -> bool:
    """Whether to use worker processes (forked, so they share what is already loaded)."""
    return jobs > 1 and work >= PARALLEL_MIN and hasattr(os, "fork")


def _return_free_memory() -> None:
    """Give the memory that gathering freed (the cache's copies, the notes) back to the system
    before the render workers fork: otherwise every worker maps, and soon copies, those pages."""
    if sys.platform.startswith("linux"):
        import ctypes

        with suppress(OSError, AttributeError):  # not glibc: nothing to trim
            ctypes.CDLL(None).malloc_trim(0)


# -- pass 1: gather -------------------------------------------------------------------------

_CTX: ValidationContext | None = None
_CTX_KEY = b""


def _read_record(path: str, display: str, ctx_key: bytes) -> tuple[bytes, bytes | None] | Problem:
    """A record file's cache key and bytes (None for a file over the size limit, which
    read_document reads again to report its size), or why it cannot be read. The one place
    that says what a key is made of, for the main process and the workers alike."""
    try:
        raw, _ = read_limited(path)
    except OSError as err:
        return Problem(display, 0, 0, "", f"cannot read the file: {err.strerror}")
    return digest(ctx_key, display, raw), raw if len(raw) <= MAX_FILE_BYTES else None


def _process(item: tuple[bytes | None, str, str, bytes | None]
             ) -> tuple[bytes, bytes] | list[Problem]:
    """One record file, read (here, when it comes without a key), validated and noted: the
    `Processed` without its full record, pickled (as it must be to leave a worker anyway), so
    that the cache stores these very bytes instead of pickling every record again, and what
    its page shows of it (a `RecordPart`, pickled); or the file's problems."""
    key, path, shown, raw = item
    assert _CTX is not None
    if key is None:
        read = _read_record(path, shown, _CTX_KEY)
        if isinstance(read, Problem):
            return [read]
        key, raw = read
    try:
        entry = validate_record(path, shown, _CTX, raw)
    except ContentErrors as err:
        return err.problems
    record = entry.record
    processed = Processed.of(key, entry, record_notes(record, _CTX.today),
                             record_tokens(entry.head))
    return (pickle.dumps(processed, protocol=pickle.HIGHEST_PROTOCOL),
            RecordPart.of(record).pickled())


def _process_all(items: list[tuple[bytes | None, str, str, bytes | None]], jobs: int,
                 ctx: ValidationContext, ctx_key: bytes
                 ) -> Iterator[tuple[bytes, bytes] | list[Problem]]:
    global _CTX, _CTX_KEY
    _CTX, _CTX_KEY = ctx, ctx_key
    progress = Progress("reading", len(items))
    workers = ForkMap(_process, items, jobs, chunk=64) if _parallel(jobs, len(items)) else None
    try:
        results = iter(workers) if workers is not None else map(_process, items)
        for i, result in enumerate(results, 1):
            progress.advance()
            if workers is None and i % COLLECT_EVERY == 0:
                gc.collect(0)  # the parser's young cycles (see workers._serve)
            yield result
    finally:
        progress.close()
        if workers is not None:
            workers.close()


def _save_cache(cache: Cache, blobs: dict[bytes, bytes], bodies: Mapping[bytes, bytes],
                dirty: set[int], ctx_key: bytes, stamps: dict[str, tuple[Stamp, bytes]] | None
                ) -> None:
    if dirty:
        cache.save_records(blobs, bodies, dirty)
    if stamps is not None:
        cache.save_stamps(ctx_key, stamps)


class _Forked(Generic[T]):
    """A function run in a forked child beside this process (here and now, when not `fork` or
    where there is none); `result` returns what it returned or raises what it raised.

    For work on the records that the main process already holds, while it does other work:
    a child shares them as they are, where a pool worker would need them sent, and has its
    own GIL, where a thread takes turns with the main one (the cache, written on a thread,
    took 0.6-0.8 s where it takes 0.35-0.5 s alone). Used while no thread runs: a fork
    copies only the thread that calls it.
    """

    def __init__(self, func: Callable[[], T], fork: bool = True) -> None:
        self._pid = 0
        self._value: tuple[bool, Any] = (False, None)
        if not fork or not hasattr(os, "fork"):
            try:
                self._value = (True, func())
            except Exception as err:  # raised by result(), as from a child
                self._value = (False, err)
            return
        self._pipe, out = os.pipe()
        self._pid = os.fork()
        if self._pid == 0:  # the child: send the answer and leave without any clean-up
            try:
                data = outcome(func)
                with os.fdopen(out, "wb") as pipe:
                    pipe.write(data)
            finally:
                os._exit(0)
        os.close(out)

    def ready(self) -> bool:
        """Whether `result` would answer without waiting (the child has sent its answer)."""
        if not self._pid:
            return True
        readable, _, _ = select.select([self._pipe], [], [], 0)
        return bool(readable)

    def result(self) -> T:
        if self._pid:
            with os.fdopen(self._pipe, "rb") as pipe:
                data = pipe.read()
            os.waitpid(self._pid, 0)
            pid, self._pid = self._pid, 0
            if not data:
                raise WorkerLost(pid)
            self._value = pickle.loads(data)
        ok, value = self._value
        if not ok:
            raise value
        return value


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def gather(project: Project, ctx: ValidationContext | None = None, jobs: int = 1,
           scan: Scan | None = None, defer: bool = False) -> BuildResult:
    """Pass 1: read and validate every record, check them together, link them into a site.
    `scan`: the input files' stats, taken earlier in this build by `inputs_fingerprint`.
    `defer`: checks of the whole set that run in children may still be running when this
    returns a linked site (`BuildResult.pending`): the caller renders meanwhile, and settles
    the result before it publishes anything."""
    problems: list[Problem] = []
    shown = display_path(project.content)
    config = None
    site_file = project.content / SITE_FILE
    try:
        config = load_site(site_file, f"{shown}/{SITE_FILE}")
    except ContentErrors as err:
        problems.extend(err.problems)
    if ctx is None:
        ctx = ValidationContext(categories=config.category_names if config else ())
    ctx_key = digest(CODE_IDENTITY, repr(ctx.categories), ctx.today.isoformat())

    cache = Cache(project.cache) if project.cache is not None else None
    cached = cache.records() if cache is not None else {}
    known = cache.stamps(ctx_key) if cache is not None else {}
    stamps: dict[str, tuple[Stamp, bytes]] = {}
    # Only a file last changed well before its stamp was taken can be trusted by its stamp.
    settled = (scan.began_ns if scan is not None else time.time_ns()) - STAMP_SETTLE_NS
    seen = scan.stats if scan is not None else {}
    records: list[Processed] = []
    blobs: dict[bytes, bytes] = {}  # each record's Processed, pickled: what the cache holds
    todo: list[tuple[bytes | None, str, str, bytes | None]] = []
    invalid: list[str] = []
    taken: dict[str, Stamp | None] = {}  # the stamps of files yet to process, taken before reading
    for item in find_record_files(project.content, shown):
        if isinstance(item, Problem):
            problems.append(item)
            continue
        path, display = item
        now = stamp(path, seen.get(path)) if cache is not None else None
        if now is not None and max(now[1], now[3]) >= settled:
            now = None  # changed too recently for its stamp to be trusted next time
        last = known.get(display)
        if now is not None and last is not None and last[0] == now and last[1] in cached:
            key = last[1]  # unchanged since the last build read it: not read again
        elif not cached:  # nothing to look up (a cold build): a worker reads the file
            todo.append((None, path, display, None))
            taken[display] = now
            continue
        else:
            read = _read_record(path, display, ctx_key)
            if isinstance(read, Problem):
                problems.append(read)
                invalid.append(_stem(path))
                continue
            key, raw = read
            if key not in cached:
                todo.append((key, path, display, raw))
                taken[display] = now
                continue
        if now is not None:
            stamps[display] = (now, key)
        hit = cached[key]
        records.append(pickle.loads(hit))
        blobs[key] = hit
    bodies = _Bodies()  # the bodies made here
    for item, result in zip(todo, _process_all(todo, jobs, ctx, ctx_key), strict=True):
        if isinstance(result, tuple):
            light, body = result
            processed: Processed = pickle.loads(light)
            records.append(processed)
            blobs[processed.key] = light
            bodies.add(processed.key, body)
            if (now := taken[item[2]]) is not None:
                stamps[item[2]] = (now, processed.key)
        else:
            problems.extend(result)
            invalid.append(_stem(item[1]))
    bodies.seal()

    saving = None  # the cache, written by a child while the set is checked and linked
    if cache is not None:
        dirty = {shard_of(k) for k in cached.keys() - blobs.keys()} | {shard_of(k) for k in bodies}
        if dirty or stamps != known:
            saving = _Forked(partial(_save_cache, cache, blobs, bodies, dirty, ctx_key,
                                     stamps if stamps != known else None), fork=jobs > 1)
    # The whole set is checked in children while this process links (one core would wait
    # for the other otherwise: about 0.2 s at 10,000 records). A child copies little: the
    # bodies are views of one buffer (see _Bodies). A cold build's peak memory, 10,000
    # records, with the child held 1.5 s so that the sampler saw it: 230 MB without a cache,
    # 260-265 MB with one (writing it), where the rendering's peak is 240-260 MB.
    # A rebuild runs the two checks in two children: at 50,000 records they take 1.3-1.8 s
    # in one, where linking takes 0.6-0.8 s (a one-record update: 4.87 -> 4.23 s, less in
    # 6 of 6 pairs; no change at 10,000). A cold build runs them in one: beside its cache
    # writer, a fourth process only raised the peak (10,000 records: 255-288 MB, from
    # 242-274 MB, in 4 pairs) at the same speed. The checks outlast linking (10,000 records:
    # 0.16-0.23 s against 0.09-0.14 s), so a cold build (`defer`) does not wait for them: it
    # compiles the templates and starts the render workers, and takes their answer then.
    beside = jobs > 1 and len(records) >= PARALLEL_MIN
    entries = bodies.entries(records)
    checks = _set_checks(entries, records, invalid)
    if not cached:  # a cold build: the checks in one child
        checks = (partial(_run_all, checks),)
    del cached, blobs, bodies  # (the bodies' buffer lives on in the entries' views)
    forked = [_Forked(check) for check in checks] if beside else []
    try:
        if not forked:
            problems.extend(_run_all(checks))
        site = None
        if config is not None:
            site, link_problems = link(config, entries)
            problems.extend(link_problems)
        if site is None or not defer or errors_only(problems):
            for child in forked:
                problems.extend(child.result())
            forked = []
        if site is None:
            return BuildResult(None, sorted(problems))
    finally:
        if saving is not None:
            saving.result()
    # Only what pass 2 needs is kept: the notes of 10,000 records are tens of megabytes, and
    # every page of the main process that a forked render worker touches gets copied. (So
    # the cache is saved and the notes are read here, not beside the rendering: memory this
    # process frees after the workers fork stays mapped in them.)
    return BuildResult(site, sorted(problems), tokens=Unpickled({r.slug: r.tokens for r in records}),
                       record_keys={r.slug: r.key for r in records},
                       shown={r.slug: r.shown for r in records},
                       listed={r.slug: r.listed for r in records},
                       indexed={r.slug: r.indexed for r in records}, ctx=ctx,
                       pending=forked)


def _set_checks(entries: list[Entry], records: list[Processed], invalid: list[str]
                ) -> tuple[Callable[[], list[Problem]], ...]:
    """The checks of the whole set, each to run on its own: clashes and dangling references;
    weak content."""
    return (partial(check_entries, entries, invalid), partial(_weak_content, entries, records))


def _weak_content(entries: list[Entry], records: list[Processed]) -> list[Problem]:
    return content_warnings([(e, r.notes) for e, r in zip(entries, records, strict=True)])


def _run_all(checks: Iterable[Callable[[], list[Problem]]]) -> list[Problem]:
    return [problem for check in checks for problem in check()]


class _Bodies(Mapping[bytes, bytes]):
    """Records' bodies (pickled `RecordPart`s; those a build made, or those a rebuild takes
    from the cache), by cache key, in one buffer that grows as they arrive; every entry gets a
    view of its part.

    Every render worker (forked) reads the body of each page it renders. As 10,000
    separate bytes objects, each read wrote to the object's header (its reference count),
    and so copied that page of the parent into the worker: a cold build's workers grew from
    about 50 to 110 MB each while rendering 10,000 pages. Views of one buffer leave those
    pages shared (the workers stayed at about 82 MB). The buffer is filled as the records
    arrive, rather than joined from them at the end, so that the build never holds them twice
    (50 MB at 10,000 records); a bytearray grows in place (realloc moves its pages, not its
    bytes). The cache is written from slices of it.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._spans: dict[bytes, tuple[int, int]] = {}
        self._view: memoryview | None = None

    def add(self, key: bytes, body: bytes) -> None:
        start = len(self._buffer)
        self._buffer += body
        self._spans[key] = (start, len(self._buffer))

    def seal(self) -> None:
        """No more records: from here on, views of the buffer (which may not grow under them)."""
        self._view = memoryview(self._buffer)

    def _part(self, key: bytes) -> memoryview:
        assert self._view is not None, "seal() first"
        start, stop = self._spans[key]
        return self._view[start:stop]

    def __getitem__(self, key: bytes) -> bytes:
        return bytes(self._part(key))

    def __contains__(self, key: object) -> bool:
        return key in self._spans

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)

    def keys(self) -> KeysView[bytes]:
        return self._spans.keys()  # a dict's: set operations on it run in C

    def entries(self, records: list[Processed]) -> list[Entry]:
        """Each record's entry, with a view of its body when it was made here."""
        return [r.entry(self._part(r.key)) if r.key in self._spans else r.entry()
                for r in records]

    def entry(self, entry: Entry, key: bytes) -> Entry:
        """The entry with a view of its body (made directly: `replace` costs more)."""
        return Entry(entry.head, entry.slug, entry.platform_slug, entry.file, entry.display,
                     self._part(key))


# -- pass 2: render and write ---------------------------------------------------------------


def _with_records(project: Project, result: BuildResult, entries: Sequence[Entry]
                  ) -> Sequence[Entry]:
    """The entries whose pages are to be rendered, each with its body: one taken from the
    cache has none (see `Processed`), and gets it from the cache's bodies, or (if that
    file was lost) by validating its file again."""
    keys = {e.slug: result.record_keys[e.slug] for e in entries if not e.pickled}
    if not keys:
        return entries
    found = _Bodies()  # one buffer, as a cold build's (see _Bodies)
    if project.cache is not None:
        for key, body in Cache(project.cache).bodies(set(keys.values())):
            found.add(key, body)
    found.seal()
    ctx = result.ctx
    complete = []
    for entry in entries:
        if not entry.pickled:
            key = keys[entry.slug]
            if key in found:
                entry = found.entry(entry, key)
            else:
                assert ctx is not None
                made = validate_record(entry.path, entry.display, ctx).record
                entry = replace(entry, pickled=RecordPart.of(made).pickled())
        complete.append(entry)
    return complete


Make = Callable[[], bytes]


@dataclass(frozen=True)
class _Render:
    """One rendering run, shared with the workers through fork (never pickled): they get only
    index ranges, and send back each file's name and digest."""

    renderer: Renderer
    pages: Sequence[Entry]
    """Error pages to render."""
    others: Sequence[_Other]
    """Every other file to make (listings, feeds, index, static assets)."""
    folder: Path | None
    """Where the files go; None renders without writing (`check`)."""
    old: Mapping[str, bytes] = field(default_factory=dict)
    """The previous build's file digests, when `folder` is a clone of it: only files whose
    bytes differ are replaced. Empty for a new folder, where every file is written."""
    digests: bool = True
    """Whether the files' digests are wanted (a manifest keeps them). Without a cache, or
    for `check`, they are not made: 4% of a render worker's time at 10,000 pages."""


_RUN: _Render | None = None
PAGES_PER_TASK = 50


def _page_bytes(renderer: Renderer, entry: Entry) -> bytes:
    return renderer.error_page(entry).encode("utf-8")


def _render_task(task: tuple[bool, int, int]) -> list[tuple[str, bytes]]:
    """Make one slice of the run's error pages or other files and write each one whose bytes
    changed: (file, digest of its bytes, or b"" when the run wants none) for each.

    The worker that made a file writes it. Creating files from both workers at once costs
    the kernel no more than from one process (10,000 pages: about 1.1 s of system time either
    way, measured on an ext4 disk free of recent deletes), and sending 200 MB of pages to the
    main process to write kept it busy for most of the rendering.
    """
    assert _RUN is not None
    run = _RUN
    is_pages, start, stop = task
    items: Iterable[tuple[str, Make]] = (
        ((page_file(e.url_path), partial(_page_bytes, run.renderer, e))
         for e in run.pages[start:stop]) if is_pages
        else ((o.rel, o.make) for o in run.others[start:stop]))
    write = write_new if not run.old else replace_file
    done: list[tuple[str, bytes]] = []
    for rel, make in items:
        data = make()
        data_digest = digest(data) if run.digests else b""
        if run.folder is not None and run.old.get(rel) != data_digest:
            write(run.folder, rel, data)
        done.append((rel, data_digest))
    return done


def _render_all(run: _Render, jobs: int, meanwhile: Callable[[], None] | None = None,
                stop: Callable[[], bool] | None = None) -> dict[str, bytes]:
    """Every file of the run, made and written on all cores: {file: digest of its bytes, or
    b"" (`_Render.digests`)}. `meanwhile` runs here once the workers have started; `stop` is
    asked after each result whether to give up (the files are then incomplete)."""
    global _RUN
    _RUN = run
    # The other files first, those listing the most records first: a few of them (the search
    # index, the largest hubs) are the slowest tasks.
    tasks = [(False, i, i + 1)
             for i in sorted(range(len(run.others)), key=lambda i: -run.others[i].rows)]
    tasks += [(True, i, i + PAGES_PER_TASK) for i in range(0, len(run.pages), PAGES_PER_TASK)]
    progress = Progress("writing", len(run.pages) + len(run.others))
    work = len(run.pages) + sum(o.rows for o in run.others) // ROWS_PER_PAGE
    workers = ForkMap(_render_task, tasks, jobs, ordered=False) if _parallel(jobs, work) else None
    digests: dict[str, bytes] = {}
    try:
        results = iter(workers) if workers is not None else map(_render_task, tasks)
        if meanwhile is not None:
            meanwhile()
        for i, done in enumerate(results, 1):
            if workers is None and i % 2 == 0:
                gc.collect(0)  # the renderer's young cycles, every 2 * PAGES_PER_TASK pages
            digests.update(done)
            progress.advance(len(done))
            if stop is not None and stop():
                break
    finally:
        progress.close()
        _RUN = None
        if workers is not None:
            workers.close()
    return digests


Key = Callable[[], bytes]


class _Other(NamedTuple):
    """A file other than an error page, as the build plans it."""

    rel: str
    key: Key
    """Its input key, computed when asked for: a file whose key is unchanged is skipped."""
    make: Make
    rows: int
    """How many records it lists."""


def _site_outputs(renderer: Renderer, project: Project, site_key: bytes,
                  result: BuildResult) -> list[_Other]:
    """Everything but the error pages: hubs, home, feeds, redirects, static assets."""
    joined: dict[tuple[int, Shows], bytes] = {}  # several files show every record: join once
    per_record = {Shows.HEAD: result.shown, Shows.ROW: result.listed,
                  Shows.INDEX: result.indexed}

    def key(rel: str, inputs: Inputs) -> bytes:
        records = joined.get((id(inputs.entries), inputs.shows))
        if records is None:
            shown = per_record[inputs.shows]
            records = joined[id(inputs.entries), inputs.shows] = b"".join(
                shown[e.slug] for e in inputs.entries)
        return digest(site_key, rel, inputs.text, records)

    outputs: list[_Other] = []
    for rel, inputs, make in renderer.site_jobs():
        outputs.append(_Other(rel, partial(key, rel, inputs),
                              lambda make=make: make().encode("utf-8"), len(inputs.entries)))
    static = project.templates / STATIC_DIR
    if static.is_dir():
        for path in sorted(static.rglob("*")):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                outputs.append(_Other(f"{STATIC_DIR}/{path.relative_to(static).as_posix()}",
                                      lambda data=data: digest(data), lambda data=data: data, 0))
    return outputs


def _site_key(site: Site, project: Project) -> bytes:
    """What every page depends on: the generator, the settings and the templates."""
    config = json.dumps(site.config.model_dump(mode="json"), sort_keys=True)
    return digest(CODE_IDENTITY, config, tree_digest(project.templates))


def _page_keys(site: Site, result: BuildResult, site_key: bytes) -> dict[str, bytes]:
    """Each error page's input key: its record, the names and sizes of the hubs it links to,
    and what it shows of its related records; nothing else reaches its HTML."""
    hub_keys = {key: digest(h.name, h.slug, str(len(h.entries))) for key, h in site.hub_of.items()}
    record_key, shown, related = result.record_keys, result.shown, site.related
    platform, category, tag = HubKind.PLATFORM, HubKind.CATEGORY, HubKind.TAG
    keys = {}
    for entry in site.entries:  # 10,000 of them: list comprehensions, no helper calls
        rec = entry.head
        hubs = [hub_keys[platform, name_slug(rec.platform)],
                hub_keys[category, name_slug(rec.category)],
                *[hub_keys[tag, name_slug(t)] for t in rec.tags]]
        keys[page_file(entry.url_path)] = digest(
            site_key, record_key[entry.slug], b"".join(hubs),
            b"".join([shown[e.slug] for e in related[entry.slug]]))
    return keys


def _write_cold(project: Project, renderer: Renderer, result: BuildResult, jobs: int,
                site_key: bytes, lock: bool = True) -> Manifest | None:
    """Write the whole site into a new folder and swap it in, unless a check of the set that
    ran beside the rendering (`gather(defer=True)`) found an error: then nothing is published,
    and None is returned."""
    site = result.site
    assert site is not None
    outputs = _site_outputs(renderer, project, site_key, result)
    manifest = Manifest(site_key=site_key)

    def keys() -> None:  # only for the manifest: made while the workers render
        manifest.page_keys = _page_keys(site, result, site_key)
        manifest.page_keys.update((o.rel, o.key()) for o in outputs)

    # Without a cache no manifest is kept: neither its keys (0.16 s of CPU at 10,000 records,
    # taken from the render workers on a 2-core machine) nor the files' digests are made.
    kept = project.cache is not None
    with Output(project.out, protected=(project.content, project.templates), lock=lock) as output:
        run = _Render(renderer, _with_records(project, result, site.entries), outputs,
                      output.staging, digests=kept)
        manifest.files = _render_all(run, jobs, meanwhile=keys if kept else None,
                                     stop=result.failed if result.pending else None)
        result.settle()
        if not result.ok:
            return None  # the staging folder goes with the `with`; the site stays as it was
        manifest.files[MARKER] = digest(MARKER_TEXT)
        result.files = result.written = len(manifest.files)
        output.commit(result.files)
    if kept and make_spare(project.out):  # (only a manifest uses one)
        manifest.changes = ((), ())  # the spare will be the site as written: nothing to level
    return manifest


def _write_incremental(project: Project, renderer: Renderer, result: BuildResult, jobs: int,
                       site_key: bytes, old: Manifest, update: Update) -> Manifest:
    """Render only files whose inputs changed; replace only files whose bytes changed.

    The listings to make again are known from their keys at once, the stale pages only after
    10,000 page keys: the workers start on the listings while this process computes those.
    When the site's key changed (a template, the settings), every page is stale: the workers
    render them all at once, and the keys are only for the manifest.
    """
    site = result.site
    assert site is not None
    manifest = Manifest(files={MARKER: digest(MARKER_TEXT)}, site_key=site_key)
    others: list[_Other] = []
    for other in _site_outputs(renderer, project, site_key, result):
        rel = other.rel
        manifest.page_keys[rel] = key = other.key()
        if old.page_keys.get(rel) == key and rel in old.files:
            manifest.files[rel] = old.files[rel]
        else:
            others.append(other)
    every_page = old.site_key != site_key
    stale: list[Entry] = list(site.entries) if every_page else []

    def find_stale() -> None:
        keys = _page_keys(site, result, site_key)
        manifest.page_keys.update(keys)
        if every_page:
            return
        for entry in site.entries:
            rel = page_file(entry.url_path)
            if old.page_keys.get(rel) == keys[rel] and rel in old.files:
                manifest.files[rel] = old.files[rel]
            else:
                stale.append(entry)

    made: dict[str, bytes] = {}
    if others or every_page:
        run = _Render(renderer, _with_records(project, result, stale), others, update.ready(),
                      old.files)
        made = _render_all(run, jobs, meanwhile=find_stale)
    else:
        find_stale()
    if stale and not every_page:
        run = _Render(renderer, _with_records(project, result, stale), (), update.ready(),
                      old.files)
        made.update(_render_all(run, jobs))
    removed = sorted(old.files.keys() - manifest.page_keys.keys() - {MARKER})
    written = tuple(sorted(rel for rel, d in made.items() if old.files.get(rel) != d))
    result.written = len(written)
    manifest.files.update(made)
    for rel in removed:
        update.remove(rel)
    if written or removed:
        update.commit()
        manifest.changes = (written, tuple(removed))
    elif update.keep():
        manifest.changes = ((), ())
    result.files = len(manifest.files)
    return manifest


def _can_update_in_place(project: Project, old: Manifest | None) -> bool:
    out = project.out
    return (old is not None and (out / MARKER).is_file()
            and not journal_path(out).exists()
            and all((out / rel).is_file() for rel in (MARKER, "index.html")))


def _template_problem(project: Project, err: TemplateError) -> Problem:
    name = getattr(err, "filename", None) or getattr(err, "name", None) or ""
    line = getattr(err, "lineno", 0) or 0
    where = display_path(Path(name)) if name else display_path(project.templates)
    kind = "template syntax error" if isinstance(err, TemplateSyntaxError) else "template error"
    return Problem(where, line, 1 if line else 0, "", f"{kind}: {err.message or err}")


def build_summary(result: BuildResult, project: Project) -> str:
    pages = len(result.site.entries) if result.site is not None else 0
    return f"built {pages} error pages, {result.files} files in {project.out}"


def build(project: Project, write: bool = True, ctx: ValidationContext | None = None,
          jobs: int = 1, fingerprint: bytes = b"", scan: Scan | None = None) -> BuildResult:
    """Gather, then render and (unless `write` is false) write the site.

    A cold build writes a staging folder and swaps it in whole. With a cache whose manifest
    matches the output folder, only changed files are replaced, each atomically.
    """
    gc.disable()  # thousands of long-lived records: the cyclic collector only rescans them
    try:
        return _build(project, write, ctx, jobs, fingerprint, scan)
    finally:
        gc.enable()


def _build(project: Project, write: bool, ctx: ValidationContext | None, jobs: int,
           fingerprint: bytes, scan: Scan | None) -> BuildResult:
    if not write or project.cache is None:
        # A cold write renders while the last checks of the set run: it settles them (and
        # publishes nothing if they found an error) before it swaps the new site in.
        result = gather(project, ctx, jobs, scan, defer=write)
        try:
            if result.ok and result.site is not None:
                _render_and_write(project, result, jobs, write)
        finally:
            result.settle()
        return result
    cache = Cache(project.cache)
    check_usable(project.out.absolute(), (project.content, project.templates))
    # The manifest must describe what is on disk: read it, change the folder and record the new
    # one under the output's lock, so two builds can never interleave between the three. With a
    # published folder, the lock is taken first, so that an update can clone the folder while
    # the records are read; without one, only after reading (a failed build leaves nothing).
    published = (project.out / MARKER).is_file()
    with locked(project.out) if published else nullcontext():
        old = cache.manifest(project.out) if published else None
        if old is not None and not _can_update_in_place(project, old):
            old = None
        with (Update(project.out, len(old.files), old.changes) if old is not None
              else nullcontext()) as update:
            result = gather(project, ctx, jobs, scan, defer=old is None)
            try:
                if not result.ok or result.site is None:
                    return result
                with nullcontext() if published else locked(project.out):
                    if old is None:
                        cache.forget_manifest(project.out)
                    manifest = _render_and_write(project, result, jobs, True, old, update,
                                                 lock=False)
                    if manifest is not None:  # (written: every check has settled)
                        manifest.fingerprint = fingerprint
                        manifest.report = format_problems(result.problems)
                        manifest.summary = build_summary(result, project)
                        cache.save_manifest(project.out, manifest)
            finally:
                result.settle()
    return result


def _render_and_write(project: Project, result: BuildResult, jobs: int, write: bool,
                      old: Manifest | None = None, update: Update | None = None,
                      lock: bool = True) -> Manifest | None:
    """Pass 2 for a gathered site: render it (`check`), write it whole, or update the folder
    that `old` describes; returns the new manifest of a written folder. A template error
    becomes a problem of the result. `lock=False`: the caller holds the output's lock."""
    assert result.site is not None
    _return_free_memory()
    try:
        compiled = CompiledTemplates(Cache(project.cache)) if project.cache is not None else None
        renderer = Renderer(result.site, project.templates, result.tokens, compiled)
        renderer.compile()  # here: the workers only render
        if not write:
            outputs = _site_outputs(renderer, project, b"", result)
            run = _Render(renderer, _with_records(project, result, result.site.entries), outputs,
                          None, digests=False)
            result.files = len(_render_all(run, jobs)) + 1  # and the marker file
            return None
        site_key = _site_key(result.site, project)
        if old is not None and update is not None:
            return _write_incremental(project, renderer, result, jobs, site_key, old, update)
        return _write_cold(project, renderer, result, jobs, site_key, lock=lock)
    except TemplateError as err:
        result.problems.append(_template_problem(project, err))
        return None
    except ContentErrors as err:  # a record lost from the cache changed since it was read
        result.problems.extend(err.problems)
        return None
