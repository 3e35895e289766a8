"""Provides the breakdown: where a run's time went, per task and for the run as a whole.

A run had ``workers × wall`` of worker time. Each worker spent it starting up (a process from
its creation until its probe connected), running tasks, or between tasks; a task's run time is
on a core (its thread's CPU time), waiting for one (runnable while the OS ran something else:
the run-queue time Linux reports), or blocked (the rest: the GIL, I/O, sleep, a lock). Time
between tasks is dispatch while the worker's next task had already been handed over (pickling,
IPC, the pool's hand-over), and idle while there was nothing for it yet. What is left of
``workers × wall`` is idle too: a worker that had finished, or was not started yet.

Everything here is computed from the trace's columns, once per run: no frame pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workloads import pyinfo
from workloads.events import LANE_LOOP
from workloads.trace import UNSET, Trace, WorkerIds, startup_key

PARTS = ("computing", "waiting_for_core", "blocked", "dispatch", "startup", "idle")
LABELS = {
    "computing": "computing",
    "waiting_for_core": "waiting for a core",
    "blocked": "blocked",
    "dispatch": "dispatch",
    "startup": "start-up",
    "idle": "idle",
}
THREAD_BACKENDS = ("threads", "thread-pool")  # threads of one process: they share a GIL
CPU_IDLE = 0.25  # CPU parallelism below this: the cores had nothing to run
ONE_CORE = 0.75  # from this, one core was kept busy


@dataclass(frozen=True)
class Breakdown:
    """A run's ``workers × wall`` split into its parts (seconds each)."""

    workers: int
    wall_s: float
    computing: float
    waiting_for_core: float | None  # None: this OS does not report run-queue time
    blocked: float
    dispatch: float
    startup: float
    idle: float
    blocked_by: str  # "GIL", "I/O" or "GIL or I/O": what the evidence says blocked the tasks
    cores: int = 0  # the CPUs the run could be scheduled on (0: not known)

    @property
    def total(self) -> float:
        return (
            self.computing
            + (self.waiting_for_core or 0.0)
            + self.blocked
            + self.dispatch
            + self.startup
            + self.idle
        )

    def seconds(self, part: str) -> float | None:
        value = getattr(self, part)
        return None if value is None else float(value)

    def fractions(self) -> dict[str, float | None]:
        """Each part as a share of ``workers × wall`` (they sum to 1; None: not measured)."""
        total = self.total
        out: dict[str, float | None] = {}
        for part in PARTS:
            value = self.seconds(part)
            out[part] = None if value is None else (value / total if total > 0 else 0.0)
        return out

    def label(self, part: str) -> str:
        """A part's name as a reader wants it: ``blocked (GIL)``."""
        if part == "blocked":
            return f"blocked ({self.blocked_by})"
        return LABELS[part]

    def largest_loss(self) -> str:
        """The part, other than computing, that took the most worker time."""
        losses = [p for p in PARTS if p != "computing" and self.seconds(p) is not None]
        return max(losses, key=lambda p: self.seconds(p) or 0.0)

    def summary(self) -> str:
        """``47% computing · 49% blocked (GIL) · 3% dispatch …`` (parts of 1% or more)."""
        shares = self.fractions()
        parts = []
        for part in PARTS:
            share = shares[part]
            if share is None:
                parts.append(f"{self.label(part)} not measured")
            elif share >= 0.005:
                parts.append(f"{share:.0%} {self.label(part)}")
        return " · ".join(parts) or "no worker time"

    def verdict(self) -> str:
        """Where the time was lost, in one sentence a reader acts on."""
        shares = self.fractions()
        loss = self.largest_loss()
        share = shares[loss] or 0.0
        computing = shares["computing"] or 0.0
        if share < 0.1 or computing >= 0.85:
            return f"the workers computed {computing:.0%} of their time: little to win"
        workers = f"{self.workers} worker{'s' if self.workers != 1 else ''}"
        crowded = self.cores == 0 or self.workers > self.cores
        what = {
            "waiting_for_core": "waiting for a core (more busy workers than cores)"
            if crowded
            else "waiting for a core (other processes had the cores)",
            "blocked": {
                "GIL": "blocked on the GIL (one thread runs Python at a time)",
                "I/O": "blocked on I/O, sleep or a lock (the CPU was free)",
            }.get(self.blocked_by, "blocked on the GIL or on I/O"),
            "dispatch": "dispatch (handing the tasks over cost more than running them)",
            "startup": "start-up (starting the workers: processes or interpreters, imports, "
            "initializer)",
            "idle": "idle (workers without work: too few tasks, or uneven ones)",
        }[loss]
        return f"most time lost: {what}, {share:.0%} of {workers} × wall"

    def as_json(self) -> dict[str, float | None]:
        return {part: None if v is None else round(v, 4) for part, v in self.fractions().items()}


def workers_of(trace: Trace) -> int:
    """How many workers ran: what the backend reported, else what was asked for, else the
    lanes seen (another tool's recording)."""
    reported = trace.detail.get("workers")
    if isinstance(reported, int) and reported > 0:
        return reported
    spec = trace.info.get("spec")
    asked = spec.get("workers") if isinstance(spec, dict) else None
    return asked if isinstance(asked, int) and asked > 0 else max(len(trace.lanes), 1)


def usable_cpus(trace: Trace) -> int:
    """The usable CPUs of the machine that ran ``trace`` (a recording keeps its own)."""
    python = trace.info.get("python")
    recorded = python.get("usable_cpus") if isinstance(python, dict) else None
    return int(recorded) if isinstance(recorded, int) and recorded > 0 else pyinfo.usable_cpus()


def backend_of(trace: Trace) -> str:
    """The backend that ran ``trace`` (``recorded`` for another tool's recording)."""
    spec = trace.info.get("spec")
    return str(spec.get("backend")) if isinstance(spec, dict) else "recorded"


def gil_on(trace: Trace) -> bool:
    """Whether the Python that ran ``trace`` had the GIL on (unknown counts as on)."""
    python = trace.info.get("python")
    return not (isinstance(python, dict) and python.get("gil_enabled") is False)


def blocked_by(trace: Trace, cpu_parallelism: float, baseline_cpu_bound: bool | None = None) -> str:
    """What blocked the tasks, as far as the evidence goes.

    Only threads of one process share a GIL (and only where this Python has one). There it is
    "GIL" where the work is CPU-bound by evidence: its single-worker run computed (the
    baseline), or, without one, the run kept one core busy (one thread ran while the others
    waited). With the cores idle it is I/O; between the two, it cannot be told apart.
    """
    if backend_of(trace) not in THREAD_BACKENDS or not gil_on(trace):
        return "I/O"
    if cpu_parallelism < CPU_IDLE:
        return "I/O"
    if baseline_cpu_bound is True or (baseline_cpu_bound is None and cpu_parallelism >= ONE_CORE):
        return "GIL"
    return "GIL or I/O"


def breakdown(trace: Trace, baseline_cpu_bound: bool | None = None) -> Breakdown:
    """The run's ``workers × wall`` split into its parts."""
    begin, end = trace.span_ns()
    wall = max(end - begin, 0)
    workers = workers_of(trace)
    start, finish, submit, cpu_col, wait_col = (
        trace.start,
        trace.end,
        trace.submit,
        trace.cpu,
        trace.wait,
    )
    computing = waiting = blocked = dispatch = startup = busy = 0
    wait_measured = False
    wait_missing = False
    started: set[int] = set()  # processes whose start-up is counted (once, whatever its lanes)
    for lane, index in zip(trace.lanes, trace.index, strict=False):
        if lane.kind == LANE_LOOP:  # the loop's steps: its coroutines' time, counted there
            continue
        up = begin
        known = trace.lane_startup_ns(lane)
        if known is not None:
            created, ready = max(known[0], begin), min(max(known[1], begin), end)
            key = startup_key(lane)
            if ready > created and key not in started:
                startup += ready - created
                started.add(key)
            up = max(ready, begin)
        tasks = index.tasks
        previous = up
        for task in tasks:
            t0 = start[task]
            t1 = finish[task]
            if t0 < begin or t1 > end or t1 < t0:  # outside the measured interval: clip
                t0, t1 = max(t0, begin), min(t1, end)
                if t1 <= t0:
                    continue
            given = submit[task]
            if given > previous:  # handed over after the worker was free: idle until then
                previous = given
            if t0 > previous:
                dispatch += t0 - previous
            run = t1 - t0
            on_cpu = cpu_col[task]
            if on_cpu > run:
                on_cpu = run
            elif on_cpu < 0:
                on_cpu = 0
            queued = wait_col[task]
            if queued < 0:  # UNSET: not measured
                wait_missing = True
            else:
                wait_measured = True
                if queued > run - on_cpu:
                    queued = run - on_cpu
                computing += on_cpu
                waiting += queued
                busy += run
                previous = t1
                continue
            computing += on_cpu
            busy += run
            previous = t1
        running = trace.running.get(lane.id)
        if running is not None and start[running] != UNSET:  # still running (or stuck): blocked
            t0 = max(start[running], begin)
            if end > t0:
                blocked += end - t0
    blocked += busy - computing - waiting
    accounted = computing + waiting + blocked + dispatch + startup
    idle = max(workers * wall - accounted, 0)
    wall_s = wall / 1e9
    cpu_par = computing / wall if wall else 0.0
    return Breakdown(
        workers=workers,
        wall_s=wall_s,
        computing=computing / 1e9,
        # Measured for some tasks only (a foreign recording): shown, the rest is in blocked.
        waiting_for_core=waiting / 1e9 if wait_measured or not wait_missing else None,
        blocked=blocked / 1e9,
        dispatch=dispatch / 1e9,
        startup=startup / 1e9,
        idle=idle / 1e9,
        blocked_by=blocked_by(trace, cpu_par, baseline_cpu_bound),
        cores=usable_cpus(trace),
    )


def task_phases(trace: Trace, task: int) -> dict[str, Any]:
    """One task's phases in seconds (``--json``): queued, on CPU, waiting for a core (None:
    not measured), blocked, returned; its pickled input and result bytes (None: not pickled)."""

    def seconds(ns: int) -> float:
        return round(ns / 1e9, 9)

    t0, t1 = trace.start[task], trace.end[task]
    given, got = trace.submit[task], trace.recv[task]
    out: dict[str, Any] = {
        "queued_s": seconds(t0 - given) if UNSET not in (t0, given) and t0 >= given else None,
        "cpu_s": None,
        "runqueue_s": None,
        "blocked_s": None,
        "returned_s": seconds(got - t1) if UNSET not in (t1, got) and got >= t1 else None,
        "input_bytes": None if trace.in_bytes[task] == UNSET else trace.in_bytes[task],
        "result_bytes": None if trace.out_bytes[task] == UNSET else trace.out_bytes[task],
    }
    if t0 != UNSET and t1 != UNSET and t1 >= t0:
        run = t1 - t0
        on_cpu = min(max(trace.cpu[task], 0), run) if trace.cpu[task] != UNSET else None
        queued = trace.wait[task]
        if on_cpu is not None:
            out["cpu_s"] = seconds(on_cpu)
        if queued != UNSET and on_cpu is not None:
            queued = min(queued, run - on_cpu)
            out["runqueue_s"] = seconds(queued)
            out["blocked_s"] = seconds(run - on_cpu - queued)
        elif on_cpu is not None:
            out["blocked_s"] = seconds(run - on_cpu)  # with any run-queue time, not measured
    return out


def lane_startup_s(trace: Trace, lane: WorkerIds) -> float | None:
    """A worker lane's start-up (created → ready) in seconds, or None where not known."""
    known = trace.lane_startup_ns(lane)
    return None if known is None else round((known[1] - known[0]) / 1e9, 6)


@dataclass(frozen=True)
class Observer:
    """What watching the run cost: the probe around each task (as its workers measured it),
    the events the channel carried, and the parent's own CPU (the dashboard or the CLI)."""

    probe_us_per_task: float | None  # None: no worker reported (killed, or an old recording)
    events: int
    events_per_s: float
    parent_cpu_cores: float

    def text(self) -> str:
        probe = (
            f"probe {self.probe_us_per_task:.1f} µs a task"
            if self.probe_us_per_task is not None
            else "probe not measured"
        )
        rate = self.events_per_s
        per_s = f"{rate / 1000:.0f}k" if rate >= 10_000 else f"{rate:.0f}"
        return (
            f"observer: {probe} · {per_s} events/s · concviz itself "
            f"{self.parent_cpu_cores:.2f} cores"
        )

    def as_json(self) -> dict[str, float | int | None]:
        return {
            "probe_us_per_task": None
            if self.probe_us_per_task is None
            else round(self.probe_us_per_task, 3),
            "events": self.events,
            "events_per_s": round(self.events_per_s, 1),
            "parent_cpu_cores": round(self.parent_cpu_cores, 4),
        }


def observer(trace: Trace, events_seen: int, seconds: float, parent_cpu_s: float) -> Observer:
    """The observer's cost over a run that lasted ``seconds`` (as the parent saw it)."""
    probe = trace.detail.get("probe")
    per_task = None
    if isinstance(probe, dict):
        spent, tasks = probe.get("ns"), probe.get("tasks")
        if isinstance(spent, int) and isinstance(tasks, int) and tasks > 0:
            per_task = spent / tasks / 1000
    seconds = max(seconds, 1e-9)
    return Observer(per_task, events_seen, events_seen / seconds, parent_cpu_s / seconds)
