"""Trace store memory: bytes the parent retains per task for 1,000,000 synthetic tasks.

Feeds the columnar Trace the four events each task produces (submitted, started, finished,
result received) in batches, as the bridge does, and measures what stays allocated
(tracemalloc). For comparison, the same tasks kept as one small Python object each.
Target: <= 100 bytes per task.

    python bench/trace_memory.py [--tasks 1000000]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workloads import events  # noqa: E402
from workloads.trace import Trace  # noqa: E402


def synthetic_batches(tasks: int, batch: int = 4096):
    pids = (4711, 4712)
    for first in range(0, tasks, batch):
        out = []
        for task in range(first, min(first + batch, tasks)):
            pid = pids[task % 2]
            t = task * 1_000_000
            out.append(events.task_submitted(task, t))
            out.append(events.task_started(task, pid, pid, t + 10))
            out.append(
                events.task_finished(
                    task, pid, pid, t + 900_000, 850_000, events.OK, str(task * 2), None
                )
            )
            out.append(events.task_result(task, t + 950_000))
        yield out


@dataclass
class TaskRecord:
    """What a straightforward store keeps per task."""

    task: int
    pid: int
    tid: int
    submit: int
    start: int
    end: int
    recv: int
    cpu: int
    status: int
    input: str
    result: str


def measure_columnar(tasks: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    trace = Trace()
    trace.ingest(
        [events.run_started(0, {"tasks": tasks, "inputs": [str(i) for i in range(tasks)]})]
    )
    for batch in synthetic_batches(tasks):
        trace.ingest(batch)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert trace.stats().ok == tasks
    return (after - before) / tasks


def measure_objects(tasks: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    store = [
        TaskRecord(
            i, 4711, 4711, i, i + 10, i + 900_000, i + 950_000, 850_000, 2, str(i), str(i * 2)
        )
        for i in range(tasks)
    ]
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(store) == tasks
    return (after - before) / tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    args = parser.parse_args()
    columnar = measure_columnar(args.tasks)
    objects = measure_objects(args.tasks)
    print(
        f"{args.tasks:,} tasks: columnar Trace {columnar:.1f} bytes/task · one object per task {objects:.1f} bytes/task"
    )


if __name__ == "__main__":
    main()
