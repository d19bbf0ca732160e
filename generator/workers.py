"""Worker processes: a map over a list on every core, by fork, with no threads.

`multiprocessing.Pool` cost a cold build of 10,000 records 0.5-0.6 s of CPU for nothing,
on a 2-core machine time taken from the workers: its worker-handler thread waits on the
result pipe among other things, and while a result sits there unread it wakes again at once,
25,000-27,000 times in a build (CPython 3.11, `Pool._get_sentinels`). Its result and task
threads also take turns with the main thread for the GIL.

Here the main thread talks to each worker over a pipe pair of its own: it sends index ranges
of a list the worker inherited when forked (nothing of the items is pickled), and reads the
results when it wants them. Each worker has a second range queued, so it never waits for the
main process.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from functools import partial
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from .errors import WorkerLost

__all__ = ["PIPE_BYTES", "ForkMap", "WorkerLost", "outcome"]

T = TypeVar("T")
R = TypeVar("R")

PIPE_BYTES = 1 << 20
"""Asked for as each result pipe's size (Linux's default limit for an unprivileged process):
a range's results (64 records, about 0.44 MB) then fit, and a worker can send them and go on
while the main process is busy, instead of waiting for it to read each 64 KB."""


def _enlarge(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):  # not Linux, or over the system's limit
        pass


class _Worker:
    """One forked worker: it applies `func` to ranges of `items` it is sent, until its task
    pipe closes."""

    def __init__(self, func: Callable[[Any], Any], items: Sequence[Any],
                 inherited: list[Connection]) -> None:
        task_read, task_write = os.pipe()
        result_read, result_write = os.pipe()
        _enlarge(result_write)
        try:
            self.pid = os.fork()
        except OSError:  # no more processes: the pipes go too
            for fd in (task_read, task_write, result_read, result_write):
                os.close(fd)
            raise
        if self.pid == 0:  # the child: it never returns
            os.close(task_write)
            os.close(result_read)
            for conn in inherited:  # the other workers' pipes: their ends of file must come
                conn.close()
            _serve(func, items, Connection(task_read, writable=False),
                   Connection(result_write, readable=False))
        os.close(task_read)
        os.close(result_write)
        self.tasks = Connection(task_write, readable=False)
        self.results = Connection(result_read, writable=False)
        self.queued = 0

    def send(self, index: int, start: int, stop: int) -> None:
        try:
            self.tasks.send_bytes(pickle.dumps((index, start, stop)))
        except BrokenPipeError:  # it ended (killed) after sending its last results
            raise WorkerLost(self.pid) from None
        self.queued += 1

    def stop(self, kill: bool) -> None:
        """Close its pipes (it then ends once its current range is done) and wait for it."""
        if kill:
            with suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self.tasks.close()
        self.results.close()
        with suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def outcome(func: Callable[[], Any], *head: Any) -> bytes:
    """What a forked child sends back: `(*head, True, what func returned)` or `(*head, False,
    the exception it raised)`, pickled. An exception that does not pickle travels as a
    RuntimeError holding its repr, so the parent still learns what went wrong."""
    try:
        answer = (*head, True, func())
    except BaseException as err:  # raised again in the parent (the child only reports)
        answer = (*head, False, err)
    try:
        return pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return pickle.dumps((*head, False, RuntimeError(repr(answer[-1]))))


def _serve(func: Callable[[Any], Any], items: Sequence[Any], tasks: Connection,
           results: Connection) -> None:
    """A worker's life: each range it is sent, mapped, and the results or the error sent back.
    It leaves with os._exit: nothing of the parent's clean-up may run twice."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C: the main process stops the workers
        # The build pauses the cycle collector (it would only rescan thousands of long-lived
        # records), but parsing and rendering leave cyclic garbage behind: without it a worker
        # grew by about 18 KB a record. What it inherited is frozen first, so the collector
        # never walks it (which would also copy those shared pages into the worker).
        gc.freeze()
        gc.enable()
        while True:
            try:
                index, start, stop = pickle.loads(tasks.recv_bytes())
            except EOFError:
                break
            results.send_bytes(outcome(partial(list, map(func, items[start:stop])), index))
    except BaseException:  # the main process is gone (a broken pipe), or worse
        code = 1
    finally:
        os._exit(code)


class ForkMap(Generic[R]):
    """`func` applied to each item by `jobs` forked workers, `chunk` items at a time; iterated,
    in the items' order, or (`ordered=False`) as they are done. Iteration raises what `func`
    raised, or `WorkerLost`.

    The workers start (fork) here, so the caller can do other work while they run; `close()`
    stops them (killed, unless every result was read). `func` and `items` reach them by the
    fork, so whatever the main process changes afterwards they do not see. Create it while no
    other thread runs: a fork copies only the thread that calls it.
    """

    def __init__(self, func: Callable[[T], R], items: Sequence[T], jobs: int, chunk: int = 1,
                 ordered: bool = True) -> None:
        self._ranges = [(start, min(start + chunk, len(items)))
                        for start in range(0, len(items), chunk)]
        self._ordered = ordered
        self._workers: list[_Worker] = []
        self._sent = 0
        self._finished = False
        inherited: list[Connection] = []
        try:
            for _ in range(min(jobs, len(self._ranges))):
                worker = _Worker(func, items, inherited)
                self._workers.append(worker)
                inherited += (worker.tasks, worker.results)
            for _ in range(2):  # one range to work on and one queued behind it
                for worker in self._workers:
                    self._feed(worker)
        except BaseException:
            self.close()
            raise
        self._finished = not self._ranges

    def _feed(self, worker: _Worker) -> None:
        if self._sent < len(self._ranges):
            worker.send(self._sent, *self._ranges[self._sent])
            self._sent += 1

    def __iter__(self) -> Iterator[R]:
        by_conn = {w.results: w for w in self._workers}
        done: dict[int, list[R]] = {}
        received = next_index = 0
        while received < len(self._ranges):
            for conn in wait([w.results for w in self._workers if w.queued]):
                worker = by_conn[conn]
                try:
                    index, ok, value = pickle.loads(worker.results.recv_bytes())
                except EOFError:
                    raise WorkerLost(worker.pid) from None
                if not ok:
                    raise value
                received += 1
                worker.queued -= 1
                self._feed(worker)
                if not self._ordered:
                    yield from value
                    continue
                done[index] = value
                while next_index in done:
                    yield from done.pop(next_index)
                    next_index += 1
        self._finished = True

    def close(self) -> None:
        """Stop the workers: they end once their pipes close, or at once if results are
        still due (an error, or the caller stopped early)."""
        for worker in self._workers:
            worker.stop(kill=not self._finished)
        self._workers = []

    def __enter__(self) -> ForkMap[R]:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
