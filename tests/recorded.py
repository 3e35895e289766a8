"""Deterministic recorded runs for snapshot tests: built from events, no processes."""

from __future__ import annotations

from workloads import events
from workloads.trace import Trace

MS = 1_000_000
T0 = 10_000 * MS  # an arbitrary clock origin


def _info(backend: str, tasks: int, lane_kind: str, method: str | None) -> dict[str, object]:
    return {
        "version": events.VERSION,
        "spec": {
            "workload": "sum-squares",
            "backend": backend,
            "start_method": method,
            "mode": "map",
            "workers": 2,
            "chunksize": 1,
            "tasks": tasks,
            "params": {"size": 2_000_000},
        },
        "note": [
            "Watch: processes fill every core; threads take turns on one.",
            "Why: each process has its own GIL; threads in one process share one.",
        ],
        "tasks": tasks,
        "inputs": [str(2_000_000 + i) for i in range(tasks)],
        "python": {
            "version": "3.11.7",
            "default_start_method": "fork",
            "gil_enabled": True,
            "cpus": 2,
            "usable_cpus": 2,
        },
        "supervisor_pid": 4700,
        "lane_kind": lane_kind,
    }


def process_pool_run(tasks: int = 12, finished: bool = True, upto_ms: int = 10_000) -> Trace:
    """Two worker processes computing back to back, ~150 ms a task, CPU-bound."""
    batch: list[events.Event] = [
        events.run_started(T0, _info("process-pool", tasks, "proc", "fork"))
    ]
    clock = {4711: T0 + 20 * MS, 4712: T0 + 24 * MS}
    pids = [4711, 4712]
    recv = []
    for task in range(tasks):
        pid = min(pids, key=lambda p: clock[p])
        start = clock[pid] + 1 * MS
        end = start + (140 + (task * 7) % 30) * MS
        clock[pid] = end
        batch.append(events.task_submitted(task, T0 + 10 * MS))
        if start > T0 + upto_ms * MS:
            continue
        batch.append(events.task_started(task, pid, pid, start))
        if end > T0 + upto_ms * MS:
            continue
        batch.append(
            events.task_finished(
                task, pid, pid, end, int((end - start) * 0.97), events.OK, str(1000 + task), None
            )
        )
        recv.append((end + MS, task))
    for t, task in sorted(recv):
        batch.append(events.task_result(task, t))
    if finished:
        batch.append(
            events.run_finished(
                max(clock.values()) + 5 * MS,
                T0,
                max(clock.values()) + 5 * MS,
                {"workers": 2, "chunksize": 1},
            )
        )
    trace = Trace()
    trace.t0_ns = T0
    trace.ingest(batch)
    return trace


def thread_run(tasks: int = 6) -> Trace:
    """Two pool threads sharing the GIL: long bars, each about half on a CPU."""
    batch: list[events.Event] = [
        events.run_started(T0, _info("thread-pool", tasks, "thread", None))
    ]
    clock = {4801: T0 + 5 * MS, 4802: T0 + 6 * MS}
    for task in range(tasks):
        tid = min(clock, key=lambda t: clock[t])
        start = clock[tid] + MS
        end = start + 300 * MS
        clock[tid] = end
        batch.append(events.task_submitted(task, T0 + 2 * MS))
        batch.append(events.task_started(task, 4700, tid, start))
        batch.append(
            events.task_finished(task, 4700, tid, end, 150 * MS, events.OK, str(task), None)
        )
        batch.append(events.task_result(task, end + MS))
    end_ns = max(clock.values()) + 2 * MS
    batch.append(events.run_finished(end_ns, T0, end_ns, {"workers": 2}))
    trace = Trace()
    trace.t0_ns = T0
    trace.ingest(batch)
    return trace


def threads_run(tasks: int = 16) -> Trace:
    """The threads backend: a thread per task, so a lane per task."""
    batch: list[events.Event] = [events.run_started(T0, _info("threads", tasks, "thread", None))]
    for task in range(tasks):
        tid, start = 4801 + task, T0 + (1 + task) * MS
        end = start + 200 * MS
        batch.append(events.task_submitted(task, T0))
        batch.append(events.task_started(task, 4700, tid, start))
        batch.append(
            events.task_finished(task, 4700, tid, end, 20 * MS, events.OK, str(task * 2), None)
        )
        batch.append(events.task_result(task, end + MS))
    end_ns = T0 + (tasks + 202) * MS
    batch.append(events.run_finished(end_ns, T0, end_ns, {"workers": tasks}))
    trace = Trace()
    trace.t0_ns = T0
    trace.ingest(batch)
    return trace
