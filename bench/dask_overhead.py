"""What a task costs on dask against a ProcessPoolExecutor, bare and under concviz.

The same ~1 ms CPU-bound tasks (sum of squares), on 2 workers, side by side in rounds:

- bare: ``ProcessPoolExecutor.map`` (fork) and ``Client.map`` + ``gather`` on a LocalCluster
  (``processes=True``, one thread per worker), each timed from the first submit to the last
  result, with the pool or cluster already up; the LocalCluster's start is timed on its own.
- under concviz: ``concviz run`` of the same work on ``process-pool`` and on ``dask`` (local
  events, and every event through dask's channel): the wall time from the run's trace minus
  the cluster's start; the tasks' span (first start to last end, leaving out the set-up
  before the first task); and the probe's own time per task as the workers report it.

Prints ms per task (wall / tasks: what a task costs the run on 2 workers).

    python bench/dask_overhead.py [--rounds 3] [--tasks 400]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workloads import session  # noqa: E402
from workloads.spec import build_spec  # noqa: E402
from workloads.tasks import cpu_bound  # noqa: E402

SIZE = 15_000  # about 1 ms of CPU on this machine


def bare_pool(tasks: int) -> float:
    with cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        list(pool.map(cpu_bound, [SIZE] * 4))  # up and warm
        begin = time.perf_counter()
        list(pool.map(cpu_bound, [SIZE] * tasks))
        return time.perf_counter() - begin


def bare_dask(tasks: int) -> tuple[float, float]:
    from distributed import Client, LocalCluster

    begin = time.perf_counter()
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        started = time.perf_counter() - begin
        client.gather(client.map(cpu_bound, [SIZE] * 4, pure=False))  # warm
        begin = time.perf_counter()
        client.gather(client.map(cpu_bound, [SIZE] * tasks, pure=False))
        return started, time.perf_counter() - begin


def concviz(backend: str, tasks: int, events: str = "auto") -> tuple[float, float, float]:
    """(wall s without a cluster's start, s from the first task's start to the last one's
    end, probe µs a task)."""
    kwargs = {"dask_events": events} if backend == "dask" else {"start_method": "fork"}
    spec = build_spec(
        workload="sum-squares", backend=backend, workers=2, tasks=tasks, params={"size": SIZE},
        **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip
    outcome = session.run(spec)
    assert outcome.status == session.FINISHED, outcome.message
    trace = outcome.trace
    started = (trace.info.get("dask") or {}).get("start_s") or 0.0
    observer = outcome.observer()
    probe = observer.probe_us_per_task if observer and observer.probe_us_per_task else 0.0
    first = min(trace.start[t] for t in range(trace.count))
    last = max(trace.end[t] for t in range(trace.count))
    return trace.stats().wall_s - started, (last - first) / 1e9, probe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=400)
    args = parser.parse_args()
    n = args.tasks
    rows: dict[str, list[float]] = {}
    probes: dict[str, list[float]] = {}
    spans: dict[str, list[float]] = {}
    starts: list[float] = []
    for _ in range(args.rounds):
        rows.setdefault("bare process-pool", []).append(bare_pool(n) / n * 1e3)
        started, took = bare_dask(n)
        starts.append(started)
        rows.setdefault("bare dask", []).append(took / n * 1e3)
        for name, backend, events in (
            ("concviz process-pool", "process-pool", "auto"),
            ("concviz dask (socket)", "dask", "auto"),
            ("concviz dask (dask's channel)", "dask", "remote"),
        ):
            wall, span, probe = concviz(backend, n, events)
            rows.setdefault(name, []).append(wall / n * 1e3)
            spans.setdefault(name, []).append(span / n * 1e3)
            probes.setdefault(name, []).append(probe)
    print(f"{n} tasks of sum-squares {SIZE:,} on 2 workers, {args.rounds} rounds (median)")
    print(
        f"LocalCluster start: {statistics.median(starts):.2f} s ({min(starts):.2f}-{max(starts):.2f})"
    )
    for name, values in rows.items():
        line = f"{name:<30} {statistics.median(values):6.2f} ms a task"
        line += f"  ({min(values):.2f}-{max(values):.2f})"
        if name in probes:
            line += f"  tasks' span {statistics.median(spans[name]):.2f} ms a task"
            line += f"  probe {statistics.median(probes[name]):.0f} µs a task"
        print(line)


if __name__ == "__main__":
    main()
