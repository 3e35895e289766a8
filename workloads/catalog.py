"""Provides the workload catalog: every example of the tutorial, runnable on every backend."""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import math
import queue
import random
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workloads import tasks


@dataclass(frozen=True)
class Param:
    """A workload parameter, offered as ``--NAME`` on the command line."""

    name: str
    kind: type
    default: Any
    help: str
    minimum: float | None = None
    multiple: bool = False
    choices: tuple[str, ...] = ()
    schemes: tuple[str, ...] = ()  # a URL parameter: the only schemes it may use

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def check(self, value: Any) -> str | None:
        """Why ``value`` is not acceptable, or None when it is."""
        values = value if self.multiple else [value]
        for item in values:
            # nan passes every comparison below; inf sleeps or waits forever.
            if isinstance(item, float) and not math.isfinite(item):
                return f"{self.flag} must be a finite number, got {item}"
            if self.schemes and not _url_with_scheme(item, self.schemes):
                accepted = " and ".join(f"{scheme}://" for scheme in self.schemes)
                return f"{self.flag} takes {accepted} addresses only, got {item!r}"
            if self.minimum is not None and item < self.minimum:
                return f"{self.flag} must be at least {self.minimum:g}, got {item}"
            if self.choices and item not in self.choices:
                return f"unknown {self.flag} {item!r} (choose from: {', '.join(self.choices)})"
        return None


def _url_with_scheme(value: Any, schemes: tuple[str, ...]) -> bool:
    """``value`` is a URL of one of ``schemes`` that names a host."""
    if not isinstance(value, str):
        return False
    try:
        parts = urllib.parse.urlsplit(value)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed [ of an IPv6 address
        return False
    return parts.scheme.lower() in schemes and bool(host)


Inputs = list[Any]
Prepare = Callable[[Mapping[str, Any], int, Path], contextlib.AbstractContextManager[Inputs]]


@dataclass(frozen=True)
class Workload:
    """What runs: a picklable function, how its inputs are made, and what to watch for."""

    name: str
    function: Callable[[Any], Any]
    summary: str
    note: tuple[str, str]
    default_tasks: int
    prepare: Prepare
    params: tuple[Param, ...] = ()
    fresh_worker_per_task: bool = False
    kind: str = "cpu"
    extra: Mapping[str, Any] = field(default_factory=dict)
    # Its asyncio form (a coroutine function); without one, asyncio runs ``function`` inside a
    # coroutine, where it holds the loop until it returns.
    coroutine: Callable[[Any], Any] | None = None

    def defaults(self) -> dict[str, Any]:
        """The parameters' default values."""
        return {p.name: p.default for p in self.params}


def _plain(make: Callable[[Mapping[str, Any], int], Inputs]) -> Prepare:
    """A prepare step for workloads that need nothing set up in the parent."""

    @contextlib.contextmanager
    def prepare(params: Mapping[str, Any], count: int, rundir: Path) -> Iterator[Inputs]:
        yield make(params, count)

    return prepare


@contextlib.contextmanager
def _download(params: Mapping[str, Any], count: int, rundir: Path) -> Iterator[Inputs]:
    urls = list(params.get("url") or [])
    if urls:
        yield [urls[i % len(urls)] for i in range(count)]
        return
    rng = random.Random(params["seed"])
    from workloads.httpserver import LatencyServer  # http.server: only runs that serve

    with LatencyServer() as server:
        yield [
            server.url(i, rng.randint(1, 5) * params["scale"], params["size"]) for i in range(count)
        ]


@contextlib.contextmanager
def _logging_thread(params: Mapping[str, Any], count: int, rundir: Path) -> Iterator[Inputs]:
    """The tutorial's example 1: a QueueHandler on a queue.Queue and a thread that logs non-stop.

    A child forked while the thread holds the queue's lock inherits the lock held, and the
    child's own log call waits on it forever. Spawned and forkserver children start clean.
    """
    log_queue: queue.Queue[logging.LogRecord] = queue.Queue()
    listener = logging.handlers.QueueListener(
        log_queue, logging.FileHandler(rundir / "out.log", delay=True)
    )
    handler = logging.handlers.QueueHandler(log_queue)
    root = logging.getLogger()
    stop = threading.Event()

    def write_logs() -> None:
        while not stop.is_set():
            logging.error("hello, I just did something")

    listener.start()
    root.addHandler(handler)
    writer = threading.Thread(target=write_logs, name="write_logs", daemon=True)
    writer.start()
    try:
        yield list(range(count))
    finally:
        stop.set()
        writer.join(timeout=2)
        root.removeHandler(handler)
        listener.stop()


@contextlib.contextmanager
def _configured_parent(params: Mapping[str, Any], count: int, rundir: Path) -> Iterator[Inputs]:
    """The tutorial's fork examples: the parent configures logging, runs an extra thread and
    changes a module global, then hands each task what it had (``tasks.ParentState``)."""
    root = logging.getLogger()
    handler = logging.StreamHandler()  # stderr, which the run sends to its log file
    handler.setFormatter(logging.Formatter("GADZOOKS %(message)s"))
    root.addHandler(handler)
    tasks.flag = tasks.FLAG_FROM_PARENT
    stop = threading.Event()
    # The tutorial's sleep(60), but alive until the run ends, however long it takes.
    sleeper = threading.Thread(target=stop.wait, name="sleeper", daemon=True)
    sleeper.start()
    try:
        # The sleeper and the main thread stay for the whole run: this is what every worker's
        # parent has when the backend starts it.
        yield [tasks.parent_state()] * count
    finally:
        stop.set()
        sleeper.join(timeout=2)
        tasks.flag = tasks.FLAG_DEFAULT
        root.removeHandler(handler)


CRASH_KINDS = ("raise", "exit", "kill", "segfault")


def _crash_inputs(p: Mapping[str, Any], n: int) -> Inputs:
    return [(i, p["crash_at"], p["crash_how"]) for i in range(n)]


_SEED = Param("seed", int, 0, "random seed for the generated delays")

WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            name="sum-squares",
            function=tasks.cpu_bound,
            summary="sum of i*i below N: pure CPU work",
            note=(
                "Watch: processes fill every core; threads take turns on one.",
                "Why: each process has its own GIL; threads in one process share one.",
            ),
            default_tasks=20,
            prepare=_plain(lambda p, n: [p["size"] + x for x in range(n)]),
            params=(Param("size", int, 2_000_000, "N of range(N) for each task", minimum=1),),
        ),
        Workload(
            name="primes",
            function=tasks.is_prime,
            summary="is_prime on the tutorial's PRIMES list",
            note=(
                "Watch: one slow number keeps one lane busy after the others finish.",
                "Why: map hands out whole tasks; the longest task sets the finish line.",
            ),
            default_tasks=len(tasks.PRIMES),
            prepare=_plain(lambda p, n: [tasks.PRIMES[i % len(tasks.PRIMES)] for i in range(n)]),
        ),
        Workload(
            name="double",
            function=tasks.double,
            summary="tiny tasks that return i*2 and their pid",
            note=(
                "Watch: start-up and hand-over cost dwarf the work; chunksize helps pools.",
                "Why: each task is pickled, sent, run and sent back: microseconds of work.",
            ),
            default_tasks=10,
            prepare=_plain(lambda p, n: list(range(1, n + 1))),
        ),
        Workload(
            name="sleep",
            function=tasks.return_after,
            coroutine=tasks.return_after_async,
            summary="return after a random 1-5 units of sleep",
            note=(
                "Watch: threads overlap the waits; map returns in input order, "
                "as-completed in finish order.",
                "Why: a sleeping thread releases the GIL, so waiting runs in parallel.",
            ),
            default_tasks=5,
            prepare=_plain(
                lambda p, n: [
                    (i, random.Random(p["seed"] * 100_003 + i).randint(1, 5) * p["scale"])
                    for i in range(n)
                ]
            ),
            params=(
                Param("scale", float, 0.2, "seconds per unit of sleep", minimum=0.001),
                _SEED,
            ),
            kind="io",
        ),
        Workload(
            name="download",
            function=tasks.load_url,
            coroutine=tasks.load_url_async,
            summary="load_url against a local HTTP server with per-URL latency",
            note=(
                "Watch: bars are hollow: the tasks wait on the network, not the CPU.",
                "Why: a thread blocked on a socket releases the GIL; processes only add cost.",
            ),
            default_tasks=10,
            prepare=_download,
            params=(
                Param("scale", float, 0.1, "seconds of server latency per unit", minimum=0.0),
                _SEED,
                Param("size", int, 65536, "bytes per page", minimum=0),
                # Only the network: urllib would read file:// (any local file, also for a
                # browser tab of concviz serve), ftp:// and data: URLs as well.
                Param(
                    "url",
                    str,
                    [],
                    "fetch this URL instead (repeatable)",
                    multiple=True,
                    schemes=("http", "https"),
                ),
            ),
            kind="io",
        ),
        Workload(
            name="fork-deadlock",
            function=tasks.runs_in_subprocess,
            summary="children log while a parent thread logs: fork hangs",
            note=(
                "Watch: with fork a child stops mid-task and the run stalls; spawn finishes.",
                "Why: fork copies a lock the parent's logging thread held; no one releases it.",
            ),
            default_tasks=60,
            prepare=_logging_thread,
            fresh_worker_per_task=True,
        ),
        Workload(
            name="fork-state",
            function=tasks.inherited_state,
            summary="what a child inherits: threads, logging, a global",
            note=(
                "Watch: a child runs 1 thread, the parent 2; forked ones keep its logging and flag.",
                "Why: fork copies memory but only the calling thread; spawn and forkserver re-import.",
            ),
            default_tasks=4,
            prepare=_configured_parent,
            fresh_worker_per_task=True,
        ),
        Workload(
            name="crash",
            function=tasks.crash,
            summary="task K raises, exits, is killed or segfaults",
            note=(
                "Watch: a dead worker's lane is marked with its exit code or signal; the run ends.",
                "Why: a killed worker cannot report; Pool.map would wait for its task forever.",
            ),
            default_tasks=8,
            prepare=_plain(_crash_inputs),
            params=(
                Param("crash_at", int, 3, "the task that fails", minimum=0),
                Param(
                    "crash_how", str, "kill", "raise, exit, kill or segfault", choices=CRASH_KINDS
                ),
            ),
        ),
        Workload(
            name="hang",
            function=tasks.hang,
            summary="task K blocks forever on a lock",
            note=(
                "Watch: the run stalls; its stuck lane and the worker's stack are shown.",
                "Why: nothing in Python times out a blocked lock; only a watchdog can tell.",
            ),
            default_tasks=6,
            prepare=_plain(lambda p, n: [(i, p["hang_at"]) for i in range(n)]),
            params=(Param("hang_at", int, 2, "the task that hangs", minimum=0),),
        ),
    )
}


TARGET = "target"  # the workload name of the user's own --target function
TARGET_NOTE = (
    "Watch: which backend keeps the most cores busy for your function.",
    "Why: the reading says what was measured: the GIL, waiting, or start-up cost.",
)


def target_workload(function: Callable[[Any], Any], label: str, inputs: list[Any]) -> Workload:
    """A workload for the user's own ``module:function`` and JSON inputs."""
    return Workload(
        name=TARGET,
        function=function,
        summary=f"your function {label}",
        note=TARGET_NOTE,
        default_tasks=len(inputs),
        # --tasks beyond the inputs runs them again, round and round.
        prepare=_plain(lambda p, n: [inputs[i % len(inputs)] for i in range(n)]),
        extra={"label": label},
    )


def all_params() -> dict[str, Param]:
    """Every workload parameter by name (one flag serves all workloads that take it)."""
    found: dict[str, Param] = {}
    for workload in WORKLOADS.values():
        for param in workload.params:
            found.setdefault(param.name, param)
    return found
