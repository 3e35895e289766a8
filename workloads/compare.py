"""Provides compare: one workload on several backends after a sequential baseline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from workloads import pyinfo, session
from workloads.spec import BACKENDS, PROCESS_BACKENDS, RunSpec, SpecError
from workloads.trace import RunStats


@dataclass
class CompareResult:
    """One backend's run beside the baseline."""

    backend: str
    start_method: str | None
    workers: int
    outcome: session.Outcome
    stats: RunStats
    speedup: float
    efficiency: float
    reading: str


def parse_backends(text: str | None, spec: RunSpec) -> list[str]:
    """The backends to race, validated; default: all of them."""
    if not text:
        return list(BACKENDS)
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        if name not in BACKENDS:
            raise SpecError(
                f"unknown backend {name!r} in --backends (choose from: {', '.join(BACKENDS)})"
            )
    if not names:
        raise SpecError(f"--backends is empty (choose from: {', '.join(BACKENDS)})")
    return list(dict.fromkeys(names))


TINY_TASK_S = 0.001  # below this a task costs less than handing it over


def _short(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} µs" if seconds < 0.001 else f"{seconds * 1e3:.1f} ms"


def reading(backend: str, stats: RunStats, speedup: float, cpu_bound: bool, cores: int) -> str:
    """One line that says what the numbers mean, derived from the measurement itself."""
    if backend == "sequential":
        return "the baseline: one task at a time on one core"
    if stats.ok + stats.errors < stats.tasks:
        return "did not finish: see its status"
    threads = backend in ("threads", "thread-pool")
    task_s = stats.busy_s / max(stats.ok + stats.errors, 1)
    if speedup < 0.9 and task_s < TINY_TASK_S:
        worker = "a thread" if threads else "another process"
        return (
            f"slower than sequential: a task takes {_short(task_s)}, less than handing it to "
            f"{worker} costs"
        )
    if cpu_bound and speedup > cores:  # efficiency above 100 %: no real gain, only noise
        return (
            f"{speedup:.1f}× is more than {cores} cores can give: the sequential run was slow "
            "this time (a busy machine); compare again"
        )
    if threads and cpu_bound and stats.cpu_parallelism < 1.3:
        return (
            f"no gain on CPU-bound work: the GIL lets one thread run Python at a time "
            f"(CPU parallelism {stats.cpu_parallelism:.2f})"
        )
    if threads and speedup >= 1.3:
        return "threads overlap the waiting: a thread blocked on I/O or sleep releases the GIL"
    if backend in PROCESS_BACKENDS and speedup < 0.9:
        return "slower than sequential: starting processes and pickling cost more than the tasks"
    if backend in PROCESS_BACKENDS and cpu_bound and stats.cpu_parallelism >= 1.3:
        return f"{stats.cpu_parallelism:.1f} of {cores} cores busy: each process has its own GIL"
    if speedup >= 1.3:
        return f"{speedup:.1f}× faster: the tasks overlap"
    return "about as fast as sequential: too little work to share, or one long task"


def compare(
    spec: RunSpec,
    backends: list[str],
    on_result: Callable[[CompareResult], None] | None = None,
) -> list[CompareResult]:
    """Run the sequential baseline, then each other backend; results in the order run."""
    cores = pyinfo.usable_cpus()
    results: list[CompareResult] = []
    baseline_wall: float | None = None
    cpu_bound = True
    order = ["sequential"] + [b for b in backends if b != "sequential"]
    for backend in order:
        run_spec = spec.with_backend(backend)
        outcome = session.run(run_spec)
        stats = outcome.trace.stats()
        if backend == "sequential":
            baseline_wall = stats.wall_s or None
            cpu_bound = stats.busy_s > 0 and stats.cpu_s / stats.busy_s >= 0.5
        workers = int(outcome.trace.detail.get("workers") or run_spec.workers)
        speedup = (baseline_wall / stats.wall_s) if baseline_wall and stats.wall_s else 0.0
        # Efficiency over the cores the run could use: workers beyond them cannot add speed.
        efficiency = speedup / max(1, min(workers, cores))
        result = CompareResult(
            backend=backend,
            start_method=run_spec.start_method,
            workers=workers,
            outcome=outcome,
            stats=stats,
            speedup=speedup,
            efficiency=efficiency,
            reading=reading(backend, stats, speedup, cpu_bound, cores),
        )
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results
