"""Provides the comparison model: speedup, efficiency, the reading of a run and compare itself.

Every view (the dashboard's summary and compare screen, ``concviz run`` and ``compare``, their
JSON, the screenshots) takes its figures from :func:`assess`, so they cannot disagree. Each
sentence a reading says is chosen from what the run measured — its CPU time against its wall
time, how many tasks were in progress, the cores it could use and what other processes used
meanwhile — never from the workload's name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any

from workloads import pyinfo, session
from workloads.breakdown import (
    THREAD_BACKENDS,
    Breakdown,
    Observer,
    backend_of,
    breakdown,
    gil_on,
    usable_cpus,
    workers_of,
)
from workloads.spec import (
    BACKENDS,
    MAX_WORKERS,
    PROCESS_BACKENDS,
    RunSpec,
    SpecError,
    available_backends,
)
from workloads.trace import RunStats, Trace

TINY_TASK_S = 0.001  # below this a task costs less than handing it over
CPU_BOUND_SHARE = 0.5  # tasks on a CPU at least half their time (one at a time) compute
SCALES = 1.3  # a parallelism or speedup at least this high is a real gain, not noise
NO_GAIN = 0.9  # a speedup below this is a loss
ONE_CORE = 0.75  # CPU parallelism from which one core counts as kept busy


@dataclass(frozen=True)
class Baseline:
    """The sequential run others are measured against."""

    wall_s: float
    cpu_share: float  # task CPU time / task time, one task at a time: how CPU-bound the work is
    task_cpu_s: float = 0.0  # CPU time of a task run alone (mean)

    @property
    def cpu_bound(self) -> bool:
        return self.cpu_share >= CPU_BOUND_SHARE

    @classmethod
    def of(cls, trace: Trace, status: str) -> Baseline | None:
        """The baseline a finished sequential run gives, or None."""
        stats = trace.stats()
        if status != session.FINISHED or stats.unfinished or stats.crashed or not stats.wall_s:
            return None
        share = stats.cpu_s / stats.busy_s if stats.busy_s > 0 else 0.0
        return cls(stats.wall_s, share, stats.cpu_s / max(stats.ok + stats.errors, 1))


@dataclass(frozen=True)
class Figures:
    """What one run's numbers say, for every view."""

    backend: str
    status: str
    stats: RunStats
    workers: int
    cores: int  # the cores this run could use: its workers, but at most the usable CPUs
    usable: int  # the CPUs the run could be scheduled on
    outside: float | None  # cores busy with other processes during the run (None: not measured)
    speedup: float | None  # None: no baseline, or the run did not finish its tasks
    efficiency: float | None
    reading: str
    chunksize: int | None = None  # tasks per hand-over the backend really used
    verdict: Verdict | None = None  # what the reading concluded
    breakdown: Breakdown | None = None  # where the workers' time went
    observer: Observer | None = None  # what watching the run cost
    cluster_start_s: float | None = None  # how long a dask LocalCluster took to start

    @property
    def finished(self) -> bool:
        """Every task ran to its end: the run did the same work as its baseline."""
        stats = self.stats
        return self.status == session.FINISHED and not stats.unfinished and not stats.crashed

    @property
    def loaded(self) -> bool:
        """Other processes used enough of the machine to change what this run could get."""
        return is_loaded(self.outside, self.usable)

    def speedup_text(self) -> str:
        """``1.94×``, or ``—`` where the run has no speedup (unfinished, or no baseline)."""
        return "—" if self.speedup is None else f"{self.speedup:.2f}×"

    def efficiency_text(self) -> str:
        return "—" if self.efficiency is None else f"{self.efficiency:.0%}"

    def chunksize_text(self) -> str:
        """Tasks per hand-over as really used (``—``: handed over one by one, or no such knob)."""
        return "—" if self.chunksize is None else str(self.chunksize)

    def status_text(self) -> str:
        """The status, marked ``*`` when other processes took cores during the run."""
        return self.status + ("*" if self.loaded else "")

    def unfinished_text(self) -> str:
        """What a run that did not finish did instead of a speedup."""
        stats = self.stats
        done = stats.ok + stats.errors
        return (
            f"{self.status} after {stats.wall_s:.2f} s with {done} of {stats.tasks} tasks done:"
            " an unfinished run has no speedup"
        )


CLUSTER_START_SHARE = 0.2  # a dask cluster's start this big a share of the wall is the story


def cluster_start_s(trace: Trace) -> float | None:
    """How long a dask LocalCluster took until its workers were ready (None: not one)."""
    dask = trace.info.get("dask")
    if not isinstance(dask, dict) or dask.get("cluster") != "local" or trace.begin_ns < 0:
        return None
    readies = sorted(ready for _, ready in trace.workers.values() if ready >= 0)
    count = int(dask.get("n_workers") or 0)
    if not readies or count <= 0:
        return None
    # The first workers it started (a worker started later replaces a lost one).
    return max(readies[:count][-1] - trace.begin_ns, 0) / 1e9


def is_loaded(outside: float | None, usable: int) -> bool:
    """Whether ``outside`` cores busy with other work is enough to matter on ``usable`` cores."""
    return outside is not None and outside >= max(0.3, 0.2 * usable)


def assess(
    trace: Trace,
    status: str,
    baseline: Baseline | None = None,
    outside: float | None = None,
    observer: Observer | None = None,
) -> Figures:
    """The figures and the reading of one run, against ``baseline`` when there is one;
    ``observer``: what watching it cost, where known (a live run's)."""
    backend = backend_of(trace)
    stats = trace.stats()
    workers = workers_of(trace)
    usable = usable_cpus(trace)
    cores = max(1, min(workers, usable))
    python = trace.info.get("python")
    gil = gil_on(trace)
    reenabled = gil and isinstance(python, dict) and python.get("free_threaded_build") is True
    chunksize = trace.detail.get("chunksize")
    started = cluster_start_s(trace)
    figures = Figures(
        backend=backend,
        status=status,
        stats=stats,
        workers=workers,
        cores=cores,
        usable=usable,
        outside=outside,
        speedup=None,
        efficiency=None,
        reading="",
        chunksize=chunksize if isinstance(chunksize, int) else None,
        cluster_start_s=started,
    )
    speedup = efficiency = None
    if baseline is not None and figures.finished and stats.wall_s > 0:
        speedup = baseline.wall_s / stats.wall_s
        # Over the cores the run could use: workers beyond them cannot add speed.
        efficiency = speedup / cores
    verdict, text = judge(figures, speedup, baseline, gil, reenabled)
    # Without CPU times (another tool's recording) a task's time cannot be split.
    measured = trace.info.get("cpu_measured", True) is not False
    split = (
        breakdown(trace, baseline.cpu_bound if baseline is not None else None) if measured else None
    )
    return replace(
        figures,
        speedup=speedup,
        efficiency=efficiency,
        reading=text,
        verdict=verdict,
        breakdown=split,
        observer=observer,
    )


def _short(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} µs" if seconds < 0.001 else f"{seconds * 1e3:.1f} ms"


class Verdict(str, Enum):
    """What a reading concluded, for views that act on it (the recommendation)."""

    UNFINISHED = "unfinished"
    ONE_AT_A_TIME = "one at a time"  # sequential, or a single worker
    DISPATCH = "dispatch"  # tasks shorter than handing them over
    NOISY_BASELINE = "noisy baseline"
    BUSY_MACHINE = "busy machine"
    RELEASES_GIL = "releases the GIL"
    GIL = "GIL"
    OVERLAPS_WAITING = "overlaps waiting"
    STARTUP = "start-up and pickling"
    CORES = "cores"
    FASTER = "faster"
    NO_GAIN = "no gain"
    UNEXPLAINED = "unexplained"


def reading(
    figures: Figures, speedup: float | None, baseline: Baseline | None, gil: bool = True
) -> str:
    """One line that says what the numbers mean, chosen from the measurement itself."""
    return judge(figures, speedup, baseline, gil)[1]


def judge(
    figures: Figures,
    speedup: float | None,
    baseline: Baseline | None,
    gil: bool = True,
    reenabled: bool = False,
) -> tuple[Verdict, str]:
    """The verdict on a run and the sentence that says it, from what the run measured.

    ``gil``: whether the run's Python had the GIL on; ``reenabled``: on a free-threaded build,
    where it was turned on at run time."""
    stats, backend, cores, usable = figures.stats, figures.backend, figures.cores, figures.usable
    if not figures.finished:
        return Verdict.UNFINISHED, figures.unfinished_text()
    started = figures.cluster_start_s
    if (
        started is not None
        and stats.wall_s > started
        and started >= CLUSTER_START_SHARE * (stats.wall_s)
    ):
        up = stats.wall_s - started
        in_progress, computing = stats.busy_s / up, stats.cpu_s / up
        return Verdict.STARTUP, (
            f"the LocalCluster took {started:.2f} s of the {stats.wall_s:.2f} s to get its "
            f"workers ready; once up, {in_progress:.1f} tasks were in progress on "
            f"{computing:.1f} of {cores} cores (a running cluster, --scheduler, is up already)"
        )
    done = max(stats.ok + stats.errors, 1)
    share = stats.cpu_s / stats.busy_s if stats.busy_s > 0 else 0.0  # on CPU while running
    cpu_par, par = stats.cpu_parallelism, stats.parallelism
    busy_elsewhere = (
        f"other processes used {figures.outside:.1f} of {usable} cores meanwhile"
        if figures.loaded and figures.outside is not None
        else ""
    )
    threads = backend in THREAD_BACKENDS
    task_s = stats.busy_s / done
    tiny = task_s < TINY_TASK_S
    if backend == "asyncio":
        if par < SCALES and share >= CPU_BOUND_SHARE:
            return Verdict.ONE_AT_A_TIME, (
                f"one task at a time (parallelism {par:.2f}): a coroutine that computes holds "
                "the loop until it returns, so the others wait their turn"
            )
        threaded = sum(1 for lane in stats.lanes if lane.kind == "thread")
        if par >= SCALES and threaded:
            return Verdict.OVERLAPS_WAITING, (
                f"asyncio.to_thread ran the plain function on {threaded} threads: {par:.1f} "
                f"tasks in progress on {cpu_par:.2f} cores"
            )
        if par >= SCALES:
            return Verdict.OVERLAPS_WAITING, (
                f"the coroutines overlap their waits: {par:.1f} tasks in progress on one thread "
                f"using {cpu_par:.2f} cores"
            )
    if backend == "sequential" or (cores == 1 and not threads):
        if tiny:  # a few µs: the CPU clock's steps and the probe's own cost blur the share
            kind = f"{_short(task_s)} a task: too short to share out"
        elif share >= CPU_BOUND_SHARE:
            kind = f"the tasks computed {share:.0%} of their time"
        else:
            kind = f"the tasks waited {1 - share:.0%} of their time (I/O, sleep or a lock)"
        first = "the baseline: one task at a time" if backend == "sequential" else "one worker"
        text = f"{first}; {kind}" + (f"; {busy_elsewhere}" if busy_elsewhere else "")
        return Verdict.ONE_AT_A_TIME, text
    # A CPU-bound function: known from its baseline, else from its tasks on this run.
    cpu_bound = baseline.cpu_bound if baseline is not None else share >= CPU_BOUND_SHARE
    worker = "a thread" if threads else "another process"
    if speedup is not None and speedup < NO_GAIN and tiny:
        return Verdict.DISPATCH, (
            f"slower than sequential: a task takes {_short(task_s)}, less than handing it to "
            f"{worker} costs"
        )
    if speedup is None and par < 0.5:
        # Less than half of the wall time had any task running: the rest was the backend's.
        made = len(stats.lanes)
        what = "threads" if threads else "worker processes"
        return Verdict.DISPATCH if tiny else Verdict.STARTUP, (
            f"tasks ran only {'under 1%' if par < 0.01 else f'{par:.0%}'} of the time "
            f"({_short(task_s)} each): starting {made} "
            f"{what} and handing the tasks over took the rest"
        )
    if speedup is None and tiny:
        return Verdict.DISPATCH, (
            f"a task takes {_short(task_s)}: at this size handing tasks over and recording "
            "each one cost as much as the work; bigger chunks or fewer, larger tasks help"
        )
    if speedup is not None and cpu_bound and speedup > cores * 1.05 and cpu_par <= cores:
        return Verdict.NOISY_BASELINE, (
            f"{speedup:.1f}× is more than {cores} cores can give: the sequential run was slow "
            "this time (a busy machine); compare again"
        )
    if figures.loaded and figures.outside is not None:
        saturated = cpu_par + figures.outside >= 0.8 * usable
        if saturated and (speedup is None or speedup < 0.85 * cores):
            # The run used what the others left: waiting for a core then looks like the GIL or
            # like I/O, and what it would do alone is unknown.
            return Verdict.BUSY_MACHINE, (
                f"{busy_elsewhere} and this run the rest ({cpu_par:.2f}): too busy to judge; "
                "compare again when idle"
            )
    if threads:
        if cpu_par >= SCALES:
            why = (
                "no GIL in this Python" if not gil else "the function releases the GIL as it works"
            )
            return Verdict.RELEASES_GIL, (
                f"threads compute in parallel: {why} (CPU parallelism {cpu_par:.2f} on "
                f"{cores} cores)"
            )
        # One core kept busy while several tasks were in progress: they took turns on it.
        # (Without a baseline, the tasks' own CPU share cannot tell: waiting for the GIL is
        # not time on a CPU either.)
        if par >= SCALES and cpu_par >= 0.6 and (cpu_bound or cpu_par >= ONE_CORE):
            if not gil:  # a free-threaded Python: whatever serialized them, not a GIL
                return Verdict.NO_GAIN, (
                    "no gain, though this Python runs without the GIL: the threads took turns "
                    f"on {cpu_par:.2f} cores ({par:.1f} tasks in progress): a lock they share, "
                    "or an object they all write"
                )
            why = (
                "the GIL, re-enabled at run time on this free-threaded build (an extension "
                "that needs it, or PYTHON_GIL=1), lets one thread run Python at a time"
                if reenabled
                else "the GIL lets one thread run Python at a time"
            )
            return Verdict.GIL, (
                f"no gain: {why} (CPU parallelism {cpu_par:.2f}, {par:.1f} tasks in progress)"
            )
        if par >= SCALES and share < CPU_BOUND_SHARE:
            return Verdict.OVERLAPS_WAITING, (
                f"threads overlap the waiting: {par:.1f} tasks at once on {cpu_par:.2f} cores "
                "(a thread waiting on I/O, sleep or a lock releases the GIL)"
            )
    if backend == "interpreter-pool" and cpu_par >= SCALES:
        return Verdict.CORES, (
            f"{cpu_par:.1f} of {cores} cores busy in one process: each interpreter has a GIL "
            "of its own"
        )
    if busy_elsewhere and (speedup is None or speedup < 0.85 * cores):
        return Verdict.BUSY_MACHINE, (
            f"{busy_elsewhere}, so this run could not have them all: compare again when idle"
        )
    if backend in PROCESS_BACKENDS or backend in ("loky", "dask"):
        if speedup is not None and speedup < NO_GAIN:
            overhead = stats.wall_s - stats.busy_s / cores
            cost = (
                "starting the cluster, scheduling and pickling"
                if backend == "dask"
                else "starting processes and pickling"
            )
            return Verdict.STARTUP, (
                f"slower than sequential: {stats.busy_s:.2f} s of tasks on {cores} cores took "
                f"{stats.wall_s:.2f} s; {cost} cost the other {max(overhead, 0):.2f} s"
            )
        slowed = (
            (stats.cpu_s / done) / baseline.task_cpu_s
            if baseline is not None and baseline.task_cpu_s > 0 and cpu_bound
            else 0.0
        )
        if cpu_par >= SCALES and slowed >= 1.3 and speedup is not None and speedup < 0.85 * cores:
            # The cores were busy, yet each task took more CPU than alone: they hindered each
            # other (shared caches, hyperthreads of one core, a host lending them to others).
            return Verdict.CORES, (
                f"{cpu_par:.1f} of {cores} cores busy, but each task needed {slowed:.1f}× the "
                "CPU time it takes alone: the cores slowed each other (shared caches, "
                "hyperthreads or a busy host)"
            )
        if cpu_par >= SCALES:
            return Verdict.CORES, (
                f"{cpu_par:.1f} of {cores} cores busy: each process has its own GIL"
            )
        if par >= SCALES and share < CPU_BOUND_SHARE:
            return Verdict.OVERLAPS_WAITING, (
                f"the waits overlap ({par:.1f} tasks in progress, {cpu_par:.2f} cores used): "
                "threads would do the same without starting processes"
            )
    if speedup is not None and speedup >= SCALES:
        return Verdict.FASTER, f"{speedup:.1f}× faster: the tasks overlap"
    if par < SCALES:
        first = "about as fast as sequential: " if speedup is not None and speedup < SCALES else ""
        return Verdict.NO_GAIN, (
            f"{first}the tasks ran about one at a time (parallelism {par:.2f}): too few tasks "
            "to share, one long task, or workers that could not start them sooner"
        )
    return Verdict.UNEXPLAINED, (
        f"{par:.1f} tasks in progress at once, but only {cpu_par:.2f} cores used"
    )


def recommend(results: list[CompareResult]) -> str:
    """Which backend to use, and why, from a finished comparison's numbers."""
    rows = [r for r in results if r.backend != "sequential" and r.speedup is not None]
    if not rows:
        return "no backend finished beside a finished sequential run: nothing to recommend"
    best = max(r.speedup or 0.0 for r in rows)
    cores = rows[0].figures.usable
    caveat = (
        " (measured while other processes were busy: compare again when idle)"
        if any(r.figures.loaded for r in results)
        else ""
    )
    if best < 1.1:
        top = max(rows, key=lambda r: r.speedup or 0.0)
        return (
            f"stay sequential: no backend beat it by 10 % (best: {top.backend} "
            f"{top.speedup or 0:.2f}×){caveat}"
        )
    # Within 10 % of the best, the lighter backend wins: no process start-up, no pickling;
    # a pool reuses its workers.
    lightness = ["thread-pool", "threads", "process-pool", "mp-pool", "processes"]
    close = [r for r in rows if (r.speedup or 0.0) >= 0.9 * best]
    chosen = min(close, key=lambda r: lightness.index(r.backend) if r.backend in lightness else 99)
    speed = chosen.speedup or 0.0
    text = f"use {chosen.backend}: {speed:.2f}× on {cores} cores"
    if chosen.backend == "threads" and chosen.figures.verdict is Verdict.OVERLAPS_WAITING:
        # A thread per task beat the pool only by having more of them: waiting needs no core.
        tasks = chosen.figures.stats.tasks
        text += f" (or thread-pool with --workers {tasks}: waiting needs no core)"
    on_threads = chosen.backend in THREAD_BACKENDS
    others = [r for r in rows if (r.backend in THREAD_BACKENDS) != on_threads]
    if others:
        other = max(others, key=lambda r: r.speedup or 0.0)
        other_speed = other.speedup or 0.0
        if on_threads and other_speed >= 0.9 * speed:
            text += f"; {other.backend} ({other_speed:.2f}×) adds start-up and pickling for nothing"
        elif on_threads:
            text += f"; the best process backend, {other.backend}, gives {other_speed:.2f}×"
        else:
            text += f"; the best thread backend, {other.backend}, gives only {other_speed:.2f}×"
            if other.figures.verdict is Verdict.GIL:
                text += " (the GIL)"
    return text + caveat


@dataclass
class CompareResult:
    """One backend's run beside the baseline (in a sweep: at one value of the swept knob)."""

    backend: str
    start_method: str | None
    outcome: session.Outcome
    figures: Figures
    knob: str | None = None  # the swept setting ("chunksize", "workers"), if any
    value: int | None = None  # its value in this row

    @property
    def row(self) -> Row:
        """The comparison's row this result ran."""
        return Row(self.backend, self.knob, self.value)

    @property
    def label(self) -> str:
        """``process-pool`` or, in a sweep, ``process-pool · chunksize 10``."""
        return self.backend if self.knob is None else f"{self.backend} · {self.knob} {self.value}"

    @property
    def stats(self) -> RunStats:
        return self.figures.stats

    @property
    def workers(self) -> int:
        return self.figures.workers

    @property
    def speedup(self) -> float | None:
        return self.figures.speedup

    @property
    def efficiency(self) -> float | None:
        return self.figures.efficiency

    @property
    def reading(self) -> str:
        return self.figures.reading


def result_of(
    backend: str,
    start_method: str | None,
    outcome: session.Outcome,
    baseline: Baseline | None,
    row: Row | None = None,
) -> CompareResult:
    """A compare row from a run's outcome (live or recorded)."""
    figures = assess(
        outcome.trace, outcome.status, baseline, outcome.outside_cores, outcome.observer()
    )
    knob, value = (row.knob, row.value) if row is not None else (None, None)
    return CompareResult(backend, start_method, outcome, figures, knob, value)


# What each knob a sweep may vary applies to.
SWEEPABLE = {
    "chunksize": ("mp-pool", "process-pool", "loky"),
    "workers": ("thread-pool", "mp-pool", "process-pool", "loky", "interpreter-pool", "dask"),
}
MAX_SWEEP_VALUES = 12


@dataclass(frozen=True)
class Sweep:
    """One setting run at several values: ``--sweep chunksize=1,10,100``."""

    knob: str
    values: tuple[int, ...]

    @property
    def text(self) -> str:
        return f"{self.knob}={','.join(map(str, self.values))}"


@dataclass(frozen=True)
class Row:
    """One row a comparison runs: a backend, at one value of the swept knob in a sweep."""

    backend: str
    knob: str | None = None
    value: int | None = None

    def spec(self, spec: RunSpec) -> RunSpec:
        """``spec`` on this row's backend, with its value."""
        on = spec.with_backend(self.backend)
        if self.knob == "workers":
            return replace(on, workers=self.value or on.workers, workers_given=True)
        if self.knob == "chunksize":
            return replace(on, chunksize=self.value)
        return on


def parse_sweep(text: str, spec: RunSpec) -> Sweep:
    """``--sweep KNOB=V1,V2,...``, validated (one-line errors)."""
    knob, sep, listed = text.partition("=")
    knob = knob.strip()
    if not sep or knob not in SWEEPABLE:
        raise SpecError(
            f"--sweep takes KNOB=V1,V2,... with KNOB one of {', '.join(SWEEPABLE)}, got {text!r}"
        )
    values: list[int] = []
    for part in listed.split(","):
        try:
            value = int(part.strip())
        except ValueError:
            raise SpecError(f"--sweep {knob}: {part.strip()!r} is not a whole number") from None
        low, high = (1, MAX_WORKERS) if knob == "workers" else (1, max(spec.tasks, 1))
        if not low <= value <= high:
            raise SpecError(f"--sweep {knob}: {value} is not between {low} and {high}")
        values.append(value)
    values = list(dict.fromkeys(values))
    if not 1 <= len(values) <= MAX_SWEEP_VALUES:
        raise SpecError(f"--sweep {knob}: give 1 to {MAX_SWEEP_VALUES} values")
    if knob == "chunksize" and spec.mode == "wait":
        raise SpecError("--sweep chunksize: the wait mode hands tasks over one by one")
    return Sweep(knob, tuple(values))


def plan(backends: list[str], sweep: Sweep | None, explicit: bool) -> list[Row]:
    """The rows to run after the baseline: every backend, or each swept one at every value.

    In a sweep, backends the knob does not apply to are left out, unless they were named
    (``explicit``): then that is an error."""
    others = [b for b in backends if b != "sequential"]
    if sweep is None:
        return [Row(b) for b in others]
    applies = SWEEPABLE[sweep.knob]
    wrong = [b for b in others if b not in applies]
    if explicit and wrong:
        raise SpecError(
            f"--sweep {sweep.knob} does not apply to {', '.join(wrong)} "
            f"(it applies to {', '.join(applies)})"
        )
    return [Row(b, sweep.knob, v) for b in others if b in applies for v in sweep.values]


def parse_backends(text: str | None, spec: RunSpec) -> list[str]:
    """The backends to race, validated; default: all that this Python can run."""
    if not text:
        return available_backends()
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        if name not in BACKENDS:
            raise SpecError(
                f"unknown backend {name!r} in --backends (choose from: {', '.join(BACKENDS)})"
            )
        missing = pyinfo.backend_unavailable(name)
        if missing is not None:
            raise SpecError(missing)
    if not names:
        raise SpecError(f"--backends is empty (choose from: {', '.join(BACKENDS)})")
    return list(dict.fromkeys(names))


def compare(
    spec: RunSpec,
    backends: list[str],
    on_result: Callable[[CompareResult], None] | None = None,
    trace_dir: Path | None = None,
    rows: list[Row] | None = None,
) -> list[CompareResult]:
    """Run the sequential baseline, then each other backend (or ``rows``: a sweep's);
    results in the order run.

    ``trace_dir``: keep every row's Chrome trace there (for replay and slides).
    """
    results: list[CompareResult] = []
    baseline: Baseline | None = None
    order = [Row("sequential"), *(rows if rows is not None else plan(backends, None, False))]
    for row in order:
        run_spec = row.spec(spec)
        outcome = session.run(run_spec, sample_cpu=trace_dir is not None)
        if row.backend == "sequential":
            baseline = Baseline.of(outcome.trace, outcome.status)
        result = result_of(row.backend, run_spec.start_method, outcome, baseline, row)
        if trace_dir is not None:
            from workloads.export import write_chrome_trace

            write_chrome_trace(outcome.trace, trace_dir / trace_name(spec, row.backend, row))
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def trace_name(spec: RunSpec, backend: str, row: Row | None = None) -> str:
    """``concviz-WORKLOAD-BACKEND.json`` (in a sweep ``…-BACKEND-chunksize10.json``): a
    comparison's traces side by side in one folder."""
    name = spec.target.name if spec.target is not None else spec.workload
    swept = f"-{row.knob}{row.value}" if row is not None and row.knob is not None else ""
    return f"concviz-{name}-{backend}{swept}.json"


def compare_json(results: list[CompareResult]) -> dict[str, Any]:
    """The race as JSON (``concviz compare --json``)."""
    return {
        "results": [
            {
                "backend": r.backend,
                **({"sweep": r.knob, "value": r.value} if r.knob is not None else {}),
                "start_method": r.start_method,
                "workers": r.workers,
                "chunksize": r.figures.chunksize,
                "status": r.outcome.status,
                "wall_s": round(r.stats.wall_s, 6),
                "speedup": None if r.speedup is None else round(r.speedup, 4),
                "efficiency": None if r.efficiency is None else round(r.efficiency, 4),
                "parallelism": round(r.stats.parallelism, 4),
                "cpu_parallelism": round(r.stats.cpu_parallelism, 4),
                "outside_load_cores": None
                if r.figures.outside is None
                else round(r.figures.outside, 3),
                "busy_machine": r.figures.loaded,
                "reading": r.reading,
                "breakdown": r.figures.breakdown.as_json() if r.figures.breakdown else None,
                "time_lost": r.figures.breakdown.verdict() if r.figures.breakdown else None,
                "observer": r.figures.observer.as_json() if r.figures.observer else None,
            }
            for r in results
        ],
        "recommendation": recommend_sweep(results)
        if any(r.knob for r in results)
        else recommend(results),
    }


def recommend_sweep(results: list[CompareResult]) -> str:
    """A sweep's conclusion: the best row, and the least value within 10 % of it."""
    rows = [r for r in results if r.knob is not None and r.speedup is not None]
    if not rows:
        return "no swept run finished beside a finished sequential run: nothing to recommend"
    best = max(rows, key=lambda r: r.speedup or 0.0)
    knob, top = best.knob, best.speedup or 0.0
    enough = min(
        (r for r in rows if r.backend == best.backend and (r.speedup or 0.0) >= 0.9 * top),
        key=lambda r: r.value or 0,
    )
    text = f"best: {best.backend} with {knob} {best.value}, {top:.2f}×"
    if enough.value != best.value:
        text += f"; {knob} {enough.value} already gives {enough.speedup or 0.0:.2f}× (within 10 %)"
    if top < 1.1:
        text += "; no value beat sequential by 10 %: stay sequential"
    return text
