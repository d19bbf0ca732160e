"""generator.workers: the forked map the build reads and renders with.

Real forks, real pipes: the results must be exactly map()'s, errors must reach the caller,
and no worker may outlive its map, a failure, an early stop or a killed parent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import REPO

from generator.workers import PIPE_BYTES, ForkMap, WorkerLost


def _square(x: int) -> int:
    return x * x


def _big(x: int) -> bytes:
    """More than a pipe holds, so a result is sent in many writes."""
    return bytes([x % 256]) * (PIPE_BYTES + 12345)


def _fail_at_13(x: int) -> int:
    if x == 13:
        raise ValueError(f"no {x}")
    return x


class _Unpicklable(Exception):
    def __reduce__(self) -> tuple:
        raise TypeError("cannot pickle this")


def _unpicklable_error(x: int) -> int:
    raise _Unpicklable(f"item {x}")


def _die_at_5(x: int) -> int:
    if x == 5:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


def _pid(_: int) -> int:
    time.sleep(0.01)
    return os.getpid()


def _alive(pid: int) -> bool:
    """Whether a child of this process still exists (a zombie counts: it was not reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize(("jobs", "chunk"), [(1, 1), (2, 1), (2, 7), (3, 64), (4, 500)])
def test_ordered_results_are_maps_results(jobs: int, chunk: int) -> None:
    items = list(range(300))
    with ForkMap(_square, items, jobs, chunk=chunk) as workers:
        assert list(workers) == [x * x for x in items]


def test_unordered_results_are_the_same_results_in_any_order() -> None:
    items = list(range(300))
    with ForkMap(_square, items, 2, chunk=5, ordered=False) as workers:
        got = list(workers)
    assert sorted(got) == [x * x for x in items]


def test_the_work_is_shared_by_every_worker() -> None:
    with ForkMap(_pid, list(range(40)), 2) as workers:
        pids = set(workers)
    assert len(pids) == 2 and os.getpid() not in pids


def test_results_larger_than_the_pipe_arrive_whole() -> None:
    with ForkMap(_big, [1, 2, 3], 2) as workers:
        got = list(workers)
    assert [len(b) for b in got] == [PIPE_BYTES + 12345] * 3
    assert [b[0] for b in got] == [1, 2, 3] and all(len(set(b)) == 1 for b in got)


def test_items_reach_the_workers_by_fork_not_pickling() -> None:
    items = [lambda: 1, lambda: 2]  # lambdas do not pickle
    with ForkMap(_call, items, 2) as workers:
        assert list(workers) == [1, 2]


def _call(f: object) -> object:
    return f()  # type: ignore[operator]


def test_an_empty_list_gives_no_results() -> None:
    with ForkMap(_square, [], 2) as workers:
        assert list(workers) == []


def test_an_error_in_a_worker_is_raised_with_its_type_and_message() -> None:
    with (ForkMap(_fail_at_13, list(range(40)), 2, chunk=4) as workers,
          pytest.raises(ValueError, match=r"^no 13$")):
        list(workers)


def test_an_error_that_does_not_pickle_is_raised_as_its_repr() -> None:
    with (ForkMap(_unpicklable_error, [7], 2) as workers,
          pytest.raises(RuntimeError, match=r"_Unpicklable\('item 7'\)")):
        list(workers)


def test_a_killed_worker_is_reported() -> None:
    with (ForkMap(_die_at_5, list(range(20)), 2) as workers,
          pytest.raises(WorkerLost, match="ended without its results")):
        list(workers)


def test_a_worker_that_died_between_ranges_is_reported_lost() -> None:
    """A worker killed after sending its results, before it was sent its next range: the
    main process reads those results, then finds the task pipe broken. That too is a lost
    worker, not a BrokenPipeError (as it was, now and then, in `test_a_killed_worker_...`)."""
    import pickle

    lost = pickle.loads(pickle.dumps(WorkerLost(42)))
    assert isinstance(lost, WorkerLost) and lost.pid == 42 and str(lost) == str(WorkerLost(42))
    with ForkMap(_pid, list(range(10)), 1) as workers:
        worker = workers._workers[0]
        time.sleep(0.5)  # its two queued ranges (one item each) are done and their results sent
        os.kill(worker.pid, signal.SIGKILL)
        os.waitid(os.P_PID, worker.pid, os.WEXITED | os.WNOWAIT)  # dead, not yet reaped
        with pytest.raises(WorkerLost, match=f"pid {worker.pid}.* ended without its results"):
            list(workers)


def test_no_worker_outlives_its_map_finished_or_stopped_early() -> None:
    finished = ForkMap(_pid, list(range(20)), 2)
    pids = set(finished)
    finished.close()
    early = ForkMap(_pid, list(range(2000)), 2)
    first = next(iter(early))
    early.close()  # results still due: the workers are killed, and reaped
    assert first not in pids
    for pid in {*pids, first}:
        assert not _alive(pid)


def test_workers_end_when_the_main_process_is_killed(tmp_path: Path) -> None:
    """A killed build (SIGKILL: no clean-up runs) must not leave workers behind: they hold
    its files open, and a later build would wait for its lock."""
    script = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(REPO)!r})
        from generator.workers import ForkMap

        def slow(x):
            time.sleep(0.05)
            return os.getpid()

        workers = ForkMap(slow, list(range(400)), 2)
        seen = set()
        for pid in workers:
            if pid not in seen:
                seen.add(pid)
                print(pid, flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    pids = [int(proc.stdout.readline()), int(proc.stdout.readline())]
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(pid) for pid in pids):
        time.sleep(0.05)
    assert not any(_running(pid) for pid in pids)


def _running(pid: int) -> bool:
    """Whether a process exists and has not ended (an orphan that ended may stay a zombie
    until whoever adopted it reaps it)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status
