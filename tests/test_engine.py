"""Real runs of the engine: every backend and start method, event completeness, clean-up."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest

from tests.conftest import assert_gone, leftover_children
from workloads import compare as comparing
from workloads import events, pyinfo, session
from workloads.spec import build_spec
from workloads.trace import RunStats

HERE = Path(__file__).resolve().parent
METHODS = pyinfo.available_start_methods()
COMBOS = [("sequential", None), ("threads", None), ("thread-pool", None)] + [
    (backend, method) for backend in ("processes", "mp-pool", "process-pool") for method in METHODS
]


def run_collecting(**kwargs: object) -> tuple[session.Outcome, list[events.Event]]:
    seen: list[events.Event] = []
    spec = build_spec(**kwargs)  # type: ignore[arg-type]
    outcome = session.run(spec, listener=seen.extend)
    return outcome, seen


def pids_of(outcome: session.Outcome) -> set[int]:
    pids = {lane.pid for lane in outcome.trace.lanes}
    pids.add(outcome.trace.info.get("supervisor_pid", 0))
    return pids - {0}


@pytest.mark.parametrize(("backend", "method"), COMBOS, ids=[f"{b}-{m}" for b, m in COMBOS])
def test_every_backend_records_each_task_once_whole(
    backend: str, method: str | None, no_leftovers: None
) -> None:
    outcome, seen = run_collecting(
        workload="double", backend=backend, start_method=method, tasks=8, workers=2
    )
    assert outcome.status == session.FINISHED, outcome.message
    done = Counter(e[1] for e in seen if e[0] == events.TASK_DONE)
    told_running = Counter(e[1] for e in seen if e[0] == events.TASK_STARTED)
    results = Counter(e[1] for e in seen if e[0] == events.TASK_RESULT)
    assert done == Counter(range(8)), "one record per task: its start and its end"
    assert not any(e[0] == events.TASK_FINISHED for e in seen)
    assert all(n == 1 for n in told_running.values()), "a running task is told once at most"
    assert results == Counter(range(8))
    trace = outcome.trace
    assert trace.stats().ok == 8
    # double returns (i * 2, pid): the result each task reports matches the lane it ran on.
    for task in range(8):
        view = trace.task(task)
        assert view.lane is not None
        assert view.result == repr((int(view.input or 0) * 2, view.lane.pid))
    worker_pids = {lane.pid for lane in trace.lanes}
    if backend in ("processes", "mp-pool", "process-pool"):
        assert os.getpid() not in worker_pids
        assert trace.info["supervisor_pid"] not in worker_pids
        if backend == "processes":
            assert len(worker_pids) == 8
    else:
        assert worker_pids == {trace.info["supervisor_pid"]}
        tids = {lane.tid for lane in trace.lanes}
        assert len(tids) == len(trace.lanes)
        if backend == "threads":
            assert len(trace.lanes) == 8
    assert_gone(pids_of(outcome))


@pytest.mark.parametrize("backend", ["mp-pool", "process-pool"])
def test_process_pools_spread_work_over_several_worker_processes(backend: str) -> None:
    outcome, _ = run_collecting(
        workload="sleep", backend=backend, tasks=4, workers=2, params={"scale": 0.05}
    )
    assert outcome.status == session.FINISHED
    assert len({lane.pid for lane in outcome.trace.lanes}) >= 2


def test_map_delivers_in_input_order_and_as_completed_in_finish_order() -> None:
    # seed 7 gives the four sleeps different lengths, so they finish out of input order.
    common = dict(
        workload="sleep",
        backend="thread-pool",
        workers=4,
        tasks=4,
        params={"scale": 0.1, "seed": 7},
    )
    mapped, _ = run_collecting(mode="map", **common)  # type: ignore[arg-type]
    completed, _ = run_collecting(mode="as-completed", **common)  # type: ignore[arg-type]
    assert list(mapped.trace.recv_order) == [0, 1, 2, 3]
    finish_order = sorted(range(4), key=lambda t: completed.trace.end[t])
    assert list(completed.trace.recv_order) == finish_order
    assert finish_order != [0, 1, 2, 3], "the sleeps should finish out of order"


def test_a_raising_task_is_an_error_span_and_the_rest_complete(no_leftovers: None) -> None:
    outcome, _ = run_collecting(
        target=f"{HERE / 'sample_targets.py'}:square_or_fail",
        inputs="[1, 2, 3, 4, 5]",
        backend="process-pool",
        workers=2,
    )
    assert outcome.status == session.FINISHED
    stats = outcome.trace.stats()
    assert (stats.ok, stats.errors) == (4, 1)
    failed = outcome.trace.task(2)
    assert failed.status == "error"
    assert failed.error == "ValueError: three is not welcome"
    assert outcome.trace.task(4).result == "25"


def test_threads_show_the_gil_processes_do_not() -> None:
    """The same CPU-bound tasks: two threads take turns on one core, two processes use two."""
    runs = {
        backend: run_collecting(
            workload="sum-squares",
            backend=backend,
            tasks=4,
            workers=2,
            params={"size": 600_000},
            # the cores, not the start-up: 3.14 defaults to forkserver, slower to start workers
            start_method="fork" if backend == "process-pool" and "fork" in METHODS else None,
        )[0]
        for backend in ("thread-pool", "process-pool")
    }
    for outcome in runs.values():
        assert outcome.status == session.FINISHED, outcome.message
    threads = runs["thread-pool"].trace.stats()
    processes = runs["process-pool"].trace.stats()
    assert threads.cpu_parallelism < 1.2
    if (psutil.cpu_count() or 1) >= 2:
        # the tasks themselves ran side by side, on a core each, for most of their time
        assert processes.parallelism > 1.3, processes
        assert processes.cpu_parallelism > threads.cpu_parallelism + 0.3, (processes, threads)


@pytest.mark.skipif("fork" not in METHODS, reason="needs the fork start method")
def test_fork_deadlock_stalls_with_fork_and_is_killed(no_leftovers: None) -> None:
    outcome, _ = run_collecting(
        workload="fork-deadlock",
        backend="processes",
        start_method="fork",
        stall_timeout=1.5,
        tasks=150,  # each fork hangs with some probability; 150 make a hang all but certain
    )
    assert outcome.status == session.STALLED
    assert outcome.stuck or outcome.alive, "the stuck tasks or processes are reported"
    assert all(s.pid != os.getpid() for s in outcome.stuck)
    statuses = Counter(outcome.trace.status)
    assert statuses[events.STALLED] == len(outcome.stuck)
    assert_gone(pids_of(outcome))


def test_fork_deadlock_completes_with_spawn(no_leftovers: None) -> None:
    outcome, _ = run_collecting(
        workload="fork-deadlock", backend="mp-pool", start_method="spawn", tasks=6, stall_timeout=20
    )
    assert outcome.status == session.FINISHED, outcome.message
    assert outcome.trace.stats().ok == 6


@pytest.mark.skipif("fork" not in METHODS, reason="needs the fork start method")
def test_fork_state_shows_what_a_forked_child_inherits() -> None:
    forked, _ = run_collecting(
        workload="fork-state", backend="mp-pool", start_method="fork", tasks=2
    )
    spawned, _ = run_collecting(
        workload="fork-state", backend="mp-pool", start_method="spawn", tasks=2
    )
    assert "GADZOOKS" in (forked.trace.task(0).result or "")
    assert "logging unconfigured" in (spawned.trace.task(0).result or "")


def test_download_fetches_from_a_real_local_server() -> None:
    outcome, _ = run_collecting(
        workload="download",
        backend="thread-pool",
        tasks=4,
        workers=4,
        params={"scale": 0.02, "size": 1000},
    )
    assert outcome.status == session.FINISHED, outcome.message
    for task in range(4):
        view = outcome.trace.task(task)
        assert view.result == "<1,000 bytes>"
        assert (view.input or "").startswith("'http://127.0.0.1:")
    # the tasks waited on the network: little CPU for their wall time
    stats = outcome.trace.stats()
    assert stats.cpu_s < stats.busy_s / 2


def test_start_events_arrive_while_the_task_still_runs() -> None:
    started_at: dict[int, int] = {}
    finished_at: dict[int, int] = {}

    def listener(batch: list[events.Event]) -> None:
        now = time.perf_counter_ns()
        for event in batch:
            if event[0] == events.TASK_STARTED:
                started_at[event[1]] = now
            elif event[0] == events.TASK_DONE:
                finished_at[event[1]] = now

    spec = build_spec(
        workload="sleep", backend="process-pool", tasks=2, workers=2, params={"scale": 0.3}
    )
    outcome = session.run(spec, listener=listener)
    assert outcome.status == session.FINISHED
    for task in range(2):
        # the parent saw the start well before the task (>= 0.3 s long) ended
        assert started_at[task] < outcome.trace.end[task]


def test_no_child_process_survives_a_sequence_of_runs() -> None:
    method = "forkserver" if "forkserver" in METHODS else None
    for backend in ("mp-pool", "process-pool", "processes"):
        run_collecting(workload="double", backend=backend, tasks=3, start_method=method)
    assert not leftover_children()


def _stats(wall_s: float, busy_s: float, cpu_s: float, tasks: int = 10) -> RunStats:
    return RunStats(wall_s, busy_s, cpu_s, busy_s / wall_s, cpu_s / wall_s, tasks, tasks, 0, 0, 0)


def _reading(
    backend: str,
    stats: RunStats,
    speedup: float | None,
    cpu_bound: bool,
    outside: float | None = None,
    status: str = session.FINISHED,
) -> str:
    figures = comparing.Figures(
        backend=backend,
        status=status,
        stats=stats,
        workers=2,
        cores=2,
        usable=2,
        outside=outside,
        speedup=speedup,
        efficiency=None,
        reading="",
    )
    baseline = comparing.Baseline(1.0, 0.98 if cpu_bound else 0.02) if speedup else None
    return comparing.reading(figures, speedup, baseline)


@pytest.mark.parametrize(
    ("backend", "stats", "speedup", "cpu_bound", "says"),
    [
        ("threads", _stats(1.0, 4.0, 0.98), 0.95, True, "no gain: the GIL lets one thread"),
        ("threads", _stats(0.004, 0.00006, 0.00006), 0.3, True, "a task takes 6 µs, less than"),
        ("process-pool", _stats(0.4, 0.8, 0.75), 2.5, True, "more than 2 cores can give"),
        ("process-pool", _stats(0.55, 1.0, 0.95), 1.8, True, "1.7 of 2 cores busy"),
        ("thread-pool", _stats(0.5, 2.0, 0.01), 4.0, False, "threads overlap the waiting"),
        # A C routine that lets go of the GIL scales on threads: not "I/O or sleep".
        ("thread-pool", _stats(0.52, 1.0, 0.99), 1.92, True, "releases the GIL as it works"),
        ("thread-pool", _stats(0.52, 1.0, 0.99), 1.92, True, "CPU parallelism 1.90 on 2 cores"),
    ],
    ids=["gil", "tiny-tasks", "noisy-baseline", "processes", "io", "releases-gil", "measured"],
)
def test_the_compare_reading_follows_the_numbers(
    backend: str, stats: RunStats, speedup: float, cpu_bound: bool, says: str
) -> None:
    assert says in _reading(backend, stats, speedup, cpu_bound)


def test_a_busy_machine_is_said_instead_of_blaming_the_work() -> None:
    # processes got one core because another process held the other one
    said = _reading("processes", _stats(1.0, 1.0, 1.0), 1.0, True, outside=1.0)
    assert "other processes used 1.0 of 2 cores" in said
    assert "too little work" not in said


def test_an_unfinished_run_has_no_speedup() -> None:
    said = _reading(
        "process-pool", _stats(0.25, 0.5, 0.5, tasks=20), None, True, status="cancelled"
    )
    assert "no speedup" in said and "cancelled" in said


def _row(
    backend: str, speedup: float | None, verdict: comparing.Verdict
) -> comparing.CompareResult:
    from workloads.trace import Trace

    figures = comparing.Figures(
        backend=backend,
        status=session.FINISHED,
        stats=_stats(1.0, 1.0, 1.0),
        workers=2,
        cores=2,
        usable=2,
        outside=None,
        speedup=speedup,
        efficiency=None if speedup is None else speedup / 2,
        reading="",
        verdict=verdict,
    )
    return comparing.CompareResult(
        backend, None, session.Outcome(session.FINISHED, Trace()), figures
    )


def test_the_recommendation_prefers_the_lighter_backend_within_ten_percent() -> None:
    v = comparing.Verdict
    rows = [
        _row("sequential", 1.0, v.ONE_AT_A_TIME),
        _row("thread-pool", 1.92, v.RELEASES_GIL),
        _row("process-pool", 1.94, v.CORES),
    ]
    assert comparing.recommend(rows) == (
        "use thread-pool: 1.92× on 2 cores; process-pool (1.94×) adds start-up and pickling"
        " for nothing"
    )


def test_the_recommendation_names_the_gil_only_where_a_row_showed_it() -> None:
    v = comparing.Verdict
    gil = [_row("thread-pool", 0.95, v.GIL), _row("process-pool", 1.9, v.CORES)]
    assert comparing.recommend(gil).endswith("gives only 0.95× (the GIL)")
    busy = [_row("thread-pool", 0.95, v.BUSY_MACHINE), _row("process-pool", 1.9, v.CORES)]
    assert "GIL" not in comparing.recommend(busy)


def test_the_recommendation_can_be_to_stay_sequential() -> None:
    v = comparing.Verdict
    rows = [_row("threads", 1.02, v.NO_GAIN), _row("mp-pool", 0.6, v.STARTUP)]
    assert comparing.recommend(rows).startswith("stay sequential: no backend beat it by 10 %")


def test_threads_taking_turns_read_as_the_gil_without_a_baseline() -> None:
    # sum-squares on 16 threads: 12 tasks in progress, one core busy (each task 8 % on CPU)
    said = _reading("threads", _stats(3.0, 36.0, 3.0, tasks=16), None, True)
    assert "the GIL lets one thread run Python at a time" in said, said
    # sleeps on 12 threads: as many in progress, no core busy
    said = _reading("threads", _stats(3.0, 36.0, 0.01, tasks=16), None, False)
    assert "threads overlap the waiting" in said, said


def test_cores_that_slow_each_other_are_told_apart_from_overhead() -> None:
    figures = comparing.Figures(
        backend="process-pool",
        status=session.FINISHED,
        stats=_stats(0.66, 1.2, 1.2, tasks=8),  # 0.15 s of CPU a task, on 1.8 cores
        workers=2,
        cores=2,
        usable=2,
        outside=0.05,
        speedup=1.2,
        efficiency=0.6,
        reading="",
    )
    baseline = comparing.Baseline(0.8, 0.98, task_cpu_s=0.1)  # 0.1 s a task alone
    said = comparing.reading(figures, 1.2, baseline)
    assert "each task needed 1.5× the CPU time it takes alone" in said, said


def test_runs_mostly_spent_starting_workers_say_so() -> None:
    # fork-deadlock on spawn: 20 fresh processes, each task a 1 ms log call, 7 s of wall
    said = _reading("mp-pool", _stats(7.0, 0.026, 0.002, tasks=20), None, False)
    assert "tasks ran only under 1% of the time" in said, said
    assert "about as fast as sequential" not in said  # nothing measured it against one


def test_the_bridge_hands_batches_over_and_never_touches_a_shown_trace() -> None:
    """A trace that the dashboard draws is changed by the dashboard's thread only."""
    batches: list[list[events.Event]] = []
    spec = build_spec(workload="double", backend="process-pool", tasks=50, workers=2)
    run = session.Session(spec, listener=batches.append, ingest=False).start()
    outcome = run.wait(60)
    assert outcome is not None and outcome.status == session.FINISHED
    assert run.trace.count == 0 and not run.trace.lanes, "the bridge left it alone"
    for batch in batches:
        run.trace.ingest(batch)
    assert run.trace.stats().ok == 50 and run.trace.finished
    assert batches[-1][-1][0] == events.RUN_ENDED, "the run's end comes last"
