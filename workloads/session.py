"""Provides Session: starts a run's supervisor, drains its event Queue, and ends it cleanly.

One bridge thread reads the Queue, feeds the Trace and hands each drained batch to the
caller. The same thread is the watchdog: a run with no task progress for ``stall_timeout``
seconds, a cancelled run and a vanished supervisor all end with the whole process tree killed.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import queue
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import psutil

from workloads import events, procs, ring, supervisor
from workloads.breakdown import Observer, observer
from workloads.spec import RunSpec
from workloads.text import visible
from workloads.trace import Trace
from workloads.tracker import start_resource_tracker

STARTUP_TIMEOUT_S = 60.0
CPU_SAMPLE_S = 0.1
CRASH_SETTLE_S = 0.5  # after a worker dies, gather the deaths it causes before ending
POLL_S = 0.05
LOG_LIMIT = 64 * 1024

Listener = Callable[[list[events.Event]], None]
DoneCallback = Callable[["Outcome"], None]


class RunState(str, Enum):
    """Where a run is. It starts ``RUNNING`` (``CANCELLING`` once asked to stop) and ends in
    one of the five ends; ``IDLE`` is a screen that has run nothing yet.

    The values are the words the user reads, and compare equal to them.
    """

    IDLE = "idle"
    RUNNING = "running"
    CANCELLING = "cancelling"
    FINISHED = "finished"
    FAILED = "failed"
    STALLED = "stalled"
    CANCELLED = "cancelled"
    CRASHED = "crashed"

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    @property
    def ended(self) -> bool:
        """One of the ends: every process of the run is gone."""
        return self not in (RunState.IDLE, RunState.RUNNING, RunState.CANCELLING)

    @property
    def live(self) -> bool:
        """Going, or being stopped."""
        return self in (RunState.RUNNING, RunState.CANCELLING)


FINISHED = RunState.FINISHED
FAILED = RunState.FAILED
STALLED = RunState.STALLED
CANCELLED = RunState.CANCELLED
CRASHED = RunState.CRASHED


def _culprit(deaths: list[tuple[int, int, int | None]]) -> tuple[int, int | None]:
    """The worker whose death ended the run, from (time, pid, exit code) records.

    A pool that loses a worker terminates the others with SIGTERM, and their ends can reach
    the supervisor in the same instant as the first one: a death by anything but SIGTERM is
    the cause; among equals, the earliest.
    """
    _, _, pid, code = min((code == -signal.SIGTERM, t, pid, code) for t, pid, code in deaths)
    return pid, code


def exit_text(code: int | None) -> str:
    """``SIGKILL`` for a process killed by a signal, ``exit code 1`` otherwise."""
    if code is None:
        return "an unknown exit status"
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


@dataclass
class StuckTask:
    task: int
    pid: int
    tid: int
    label: str
    running_s: float


@dataclass
class LiveProcess:
    """A process of the run that was still there when the run was ended."""

    pid: int
    status: str
    label: str


@dataclass
class Outcome:
    """How a run ended, and what it left to read."""

    status: RunState
    trace: Trace
    message: str = ""
    stuck: list[StuckTask] = field(default_factory=list)
    alive: list[LiveProcess] = field(default_factory=list)
    stacks: dict[int, str] = field(default_factory=dict)  # pid -> its threads' Python stacks
    pending: int = 0
    log: str = ""
    outside_cores: float | None = None  # cores other processes kept busy during the run
    # What watching it cost: events carried, seconds, the parent's CPU seconds (see observer)
    watched: tuple[int, float, float] | None = None

    def observer(self) -> Observer | None:
        """What watching the run cost (read once the trace holds the whole run)."""
        return None if self.watched is None else observer(self.trace, *self.watched)


MIN_LOAD_WINDOW_S = 0.3  # the kernel counts CPU time in 10 ms ticks: shorter runs cannot say


def _cpu_clock() -> tuple[float, float, float]:
    """(now, CPU seconds the whole machine spent busy, CPU seconds of this process and its
    reaped children). A run's tree is reaped by the time it ends, so the difference of two
    readings is what other processes used meanwhile."""
    machine = psutil.cpu_times()
    idle = machine.idle + getattr(machine, "iowait", 0.0)
    # Guest time is counted in user time as well; steal is a neighbour using our cores.
    guest = getattr(machine, "guest", 0.0) + getattr(machine, "guest_nice", 0.0)
    own = os.times()
    return (
        time.monotonic(),
        sum(machine) - idle - guest,
        own.user + own.system + own.children_user + own.children_system,
    )


def outside_load(
    before: tuple[float, float, float], after: tuple[float, float, float], cpus: int
) -> float | None:
    """Cores other processes kept busy between two readings of :func:`_cpu_clock`."""
    window = after[0] - before[0]
    if window < MIN_LOAD_WINDOW_S:
        return None
    outside = ((after[1] - before[1]) - (after[2] - before[2])) / window
    return min(max(outside, 0.0), float(cpus))


class Watch:
    """What the watchdog needs to know of a run, kept from its events by the bridge thread.

    The run's Trace is changed by one thread only — whoever shows it (the dashboard's UI
    thread) or, for the CLI, the bridge itself — so the bridge keeps these few facts apart.
    """

    def __init__(self) -> None:
        self.started = False
        self.finished = False
        self.failure: str | None = None
        self.tasks = 0
        self.ended = 0  # tasks that finished with their own word
        self.running: dict[int, tuple[int, int, int]] = {}  # task -> (pid, tid, started at)
        self.by_pid: dict[int, set[int]] = {}
        self.gave_up: list[tuple[int, str]] = []  # tasks the engine stopped retrying (dask)
        self.done = bytearray()  # per task: 1 once it ended

    def observe(self, batch: list[events.Event]) -> bool:
        """Take a batch in; True when it shows task progress."""
        progress = False
        running, done = self.running, self.done
        ended = 0
        for event in batch:
            if event[0] == events.TASK_DONE or event[0] == events.TASK_FINISHED:
                task = event[1]
                held = running.pop(task, None)
                on = self.by_pid.get(held[0]) if held is not None else None
                if on is not None:  # (where it began: dask may end it on another worker)
                    on.discard(task)
                if task < len(done):
                    ended += not done[task]  # once, though dask may run a task again
                    done[task] = 1
                else:
                    ended += 1
                progress = True
            elif event[0] == events.TASK_SUBMITTED:
                pass  # one per task and nothing to keep: passed over at the first test after DONE
            elif event[0] == events.TASK_STARTED:
                _, task, pid, tid, t = event
                progress = True
                if task < len(done) and done[task]:
                    continue  # told running after its end arrived (a slot read late)
                running[task] = (pid, tid, t)
                self.by_pid.setdefault(pid, set()).add(task)
            elif event[0] in (events.TASK_RESULT, events.WORKER_UP):
                progress = True
            elif event[0] in (events.WORKER_READY, events.WORKER_DOWN):
                progress = True  # a pool's workers coming up or going away
            elif event[0] == events.RUN_STARTED:
                self.started = True
                self.tasks = int(event[2].get("tasks", 0))
                self.done = done = bytearray(self.tasks)
            elif event[0] == events.RUN_FINISHED:
                self.finished = True
                self.gave_up = [(int(t), str(e)) for t, e in event[4].get("gave_up", ())]
            elif event[0] == events.RUN_FAILED:
                self.finished = True
                self.failure = visible(str(event[2]))
        self.ended += ended
        return progress

    @property
    def unstarted(self) -> int:
        """Tasks that neither ended nor are running: never started."""
        return max(self.tasks - self.ended - len(self.running), 0)


class Session:
    """One run of a RunSpec in its own supervisor process."""

    def __init__(
        self,
        spec: RunSpec,
        listener: Listener | None = None,
        clock: Callable[[], int] = time.perf_counter_ns,
        on_done: DoneCallback | None = None,
        sample_cpu: bool = False,
        ingest: bool = True,
    ) -> None:
        """``sample_cpu``: record per-core CPU readings (psutil) into the trace, 10 a second.

        ``ingest``: the bridge thread fills ``trace`` itself (the CLI, compare: nobody reads
        it until the run is over). Off, the trace is left to the caller: ``listener`` gets every
        batch (on the bridge thread) and the caller ingests them on its own thread, the only one
        that changes the trace (the dashboard does, a frame at a time).
        """
        self.spec = spec
        self._ingest = ingest
        self.watch = Watch()
        self._sample_cpu = sample_cpu
        self._next_sample = 0.0
        self.trace = Trace()
        self._listener = listener
        self._on_done = on_done
        self._clock = clock
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._outcome: Outcome | None = None
        self._waiters: list[Callable[[], None]] = []  # woken once the run has ended
        self._waiters_lock = threading.Lock()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._queue: Any = None
        self._rundir: Path | None = None
        self._bridge: threading.Thread | None = None
        self._seen_pids: set[int] = set()
        # dask runs a dead worker's tasks again: each process's attempts in progress, so that
        # its death shows them lost (pid -> task -> (tid, started at)), and the workers of a
        # cluster someone else started are not this run's to reap.
        self._retries = spec.backend == "dask"
        self._attempts: dict[int, dict[int, tuple[int, int]]] = {}
        self._lost_pids: list[int] = []
        self._lost_tasks: list[int] = []  # one entry per lost attempt
        self._own_workers = not (spec.backend == "dask" and spec.scheduler)
        self._cpu_before: tuple[float, float, float] | None = None
        self._events = 0  # events the channel carried
        self._began = (time.monotonic(), time.process_time())  # for the parent's own CPU
        self._workers_cpu: dict[int, float] = {}  # CPU seconds of each worker, last looked
        self._ending: events.Event | None = None  # how the run was ended, delivered last

    # -- control ----------------------------------------------------------------------------

    def start(self) -> Session:
        """Start the supervisor and the bridge thread; returns at once."""
        procs.become_subreaper()
        start_resource_tracker()
        ctx = multiprocessing.get_context("spawn")
        with contextlib.suppress(Exception):  # psutil may not read the machine's counters
            self._cpu_before = _cpu_clock()
        self._began = (time.monotonic(), time.process_time())
        clean_stale_folders()
        # The owner's pid in the name: a folder left by a concviz that was killed is known.
        self._rundir = Path(tempfile.mkdtemp(prefix=f"concviz-{os.getpid()}-"))
        self._queue = ctx.Queue()
        self.trace.t0_ns = self._clock()
        self._process = ctx.Process(
            target=supervisor.main,
            args=(self.spec, self._queue, str(self._rundir)),
            name="concviz-supervisor",
        )
        # Every process of the run carries the run's mark in its environment from its start
        # (what /proc shows), so an orphan that reaches this process can be told apart.
        previous = os.environ.get(procs.RUN_MARK)
        os.environ[procs.RUN_MARK] = self._rundir.name
        try:
            self._process.start()
        finally:
            if previous is None:
                os.environ.pop(procs.RUN_MARK, None)
            else:
                os.environ[procs.RUN_MARK] = previous
        self._bridge = threading.Thread(target=self._run_bridge, name="concviz-bridge", daemon=True)
        self._bridge.start()
        return self

    def cancel(self) -> None:
        """Stop the run: its process tree is killed, unfinished tasks become cancelled."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> Outcome | None:
        """The outcome, once the run has ended and every process of it is gone."""
        if not self._done.wait(timeout):
            return None
        return self._outcome

    async def ended(self) -> Outcome:
        """Await the outcome without blocking the event loop while the run ends."""
        import asyncio  # only callers that await pay for its import

        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(
                    lambda: None if future.done() else future.set_result(None)
                )

        with self._waiters_lock:
            if not self._done.is_set():
                self._waiters.append(wake)
            else:
                future.set_result(None)
        await future
        assert self._outcome is not None
        return self._outcome

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def state(self) -> RunState:
        """``RUNNING``, ``CANCELLING`` once cancelled, then how the run ended."""
        if self._done.is_set() and self._outcome is not None:
            return self._outcome.status
        return RunState.CANCELLING if self._cancel.is_set() else RunState.RUNNING

    @property
    def supervisor_pid(self) -> int | None:
        """The supervisor's pid while it runs (thread lanes live in it)."""
        process = self._process
        return process.pid if process is not None else None

    # -- the bridge thread -------------------------------------------------------------------

    def _run_bridge(self) -> None:
        try:
            self._outcome = self._drain()
        except BaseException as exc:  # noqa: BLE001 - the caller must always get an outcome
            self._kill_tree()
            self._ending = events.run_ended(self._clock(), rest=events.CANCELLED)
            self._outcome = Outcome(FAILED, self.trace, visible(f"{type(exc).__name__}: {exc}"))
        finally:
            self._finish()
            # The last word: how the run was ended, once its processes are gone.
            ending = self._ending or events.run_ended(self._clock())
            outside = self._outcome.outside_cores if self._outcome is not None else None
            self._deliver([(*ending[:5], outside)])
            with self._waiters_lock:
                self._done.set()
                waiters, self._waiters = self._waiters, []
            for wake in waiters:
                wake()
            if self._on_done is not None and self._outcome is not None:
                self._on_done(self._outcome)

    def _deliver(self, batch: list[events.Event]) -> None:
        """Hand a batch on: into the trace (ingest mode) and to the listener."""
        if self._ingest:
            self.trace.ingest(batch)
        if self._listener is not None:
            self._listener(batch)

    def _drain(self) -> Outcome:
        assert self._process is not None
        started_at = time.monotonic()
        last_progress = time.monotonic()
        started = False
        exited_at: float | None = None
        deaths: list[tuple[int, int, int | None]] = []  # (time, pid, exit code) of abnormal exits
        first_death: float | None = None
        if self._sample_cpu:
            psutil.cpu_percent(interval=None, percpu=True)  # the first reading only primes
            self._next_sample = time.monotonic() + CPU_SAMPLE_S
        while True:
            batch = self._get_batch()
            if self._sample_cpu and time.monotonic() >= self._next_sample and self._ingest:
                self._next_sample += CPU_SAMPLE_S
                self.trace.add_cpu_sample(
                    self._clock(), psutil.cpu_percent(interval=None, percpu=True)
                )
            if batch:
                self._events += len(batch)
                progress = self.watch.observe(batch)
                lost: list[events.Event] = []
                for event in batch:
                    if event[0] == events.WORKER_UP and event[1] != self._process.pid:
                        if self._own_workers:
                            self._seen_pids.add(event[1])
                    elif event[0] == events.RUN_STARTED:
                        started = True
                    elif self._retries and event[0] in (events.TASK_STARTED, events.TASK_DONE):
                        held = self._attempts.setdefault(event[2], {})
                        if event[0] == events.TASK_STARTED:
                            held[event[1]] = (event[3], event[4])
                        else:
                            held.pop(event[1], None)
                    elif event[0] == events.WORKER_DOWN and self._retries:
                        lost += self._lose_attempts(event[1], event[2])
                    elif event[0] == events.WORKER_DOWN and (
                        event[3] not in (None, 0) or self._holds_a_task(event[1])
                    ):
                        # A worker that ends while a task of it runs has crashed, whatever
                        # its exit status (os._exit(0) in a task is still a lost task).
                        deaths.append((event[2], event[1], event[3]))
                if lost:
                    batch = batch + lost
                if progress or not started:
                    last_progress = time.monotonic()
                self._deliver(batch)
                if deaths and first_death is None:
                    first_death = time.monotonic()
                watch = self.watch
                if watch.finished and deaths:
                    self._process.join(10)
                    pid, code = _culprit(deaths)
                    return self._end_crashed(pid, code)
                if watch.finished and watch.gave_up:
                    self._process.join(10)
                    return self._end_gave_up()
                if watch.finished:
                    self._process.join(10)
                    if self._process.exitcode is None:
                        self._kill_tree()
                    if (watch.running or watch.unstarted) and watch.failure is None:
                        return self._end_unaccounted()
                    if watch.failure is not None:
                        return Outcome(FAILED, self.trace, watch.failure)
                    return Outcome(FINISHED, self.trace)
            now = time.monotonic()
            if first_death is not None and now - first_death > CRASH_SETTLE_S:
                # A pool that loses a worker stops the others: blame the first to die.
                pid, code = _culprit(deaths)
                return self._end_crashed(pid, code)
            if self._cancel.is_set():  # at once, also while events pour in
                return self._end_early(CANCELLED, events.CANCELLED, "cancelled")
            if batch:
                continue
            stall = self.spec.stall_timeout
            if started and stall > 0 and now - last_progress > stall:
                if self._workers_busy():
                    last_progress = now  # workers coming up (or going) are progress
                else:
                    return self._end_early(
                        STALLED, events.STALLED, f"no task progress for {stall:g} s: stalled"
                    )
            if not started and now - started_at > STARTUP_TIMEOUT_S:
                return self._end_early(FAILED, events.CANCELLED, "the run did not start")
            if self._process.exitcode is not None and exited_at is None:
                # Its last events may still be in the pipe: read on for a moment.
                exited_at = now
            elif exited_at is not None and now - exited_at > 1.0:
                # The supervisor vanished without its final event: a task in one of its
                # threads took the process down (os._exit, a signal, a segfault).
                return self._end_crashed(self._process.pid or 0, self._process.exitcode)

    def _get_batch(self) -> list[events.Event]:
        """Everything the Queue holds now (waiting up to POLL_S for the first item)."""
        batch: list[events.Event] = []
        try:
            item = self._queue.get(timeout=POLL_S)
        except queue.Empty:
            return batch
        while True:
            if isinstance(item, bytes):  # a worker's ring records
                batch.extend(ring.decode(item))
            elif isinstance(item, tuple):  # the supervisor's own events, pickled by its pump
                batch.extend(pickle.loads(item[1]))
            elif item is not None:
                batch.extend(item)
            if len(batch) >= 65536:
                return batch
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch

    def _end_early(self, status: RunState, task_status: int, message: str) -> Outcome:
        now = self._clock()
        watch = self.watch
        stuck = [
            StuckTask(task, pid, tid, self._label(task, pid, tid), (now - t) / 1e9)
            for task, (pid, tid, t) in sorted(watch.running.items())
        ]
        pending = watch.unstarted
        alive = self._live_processes()
        stacks = self._dump_stacks({s.pid for s in stuck}) if status == STALLED else {}
        self._kill_tree()
        self._ending = events.run_ended(
            now,
            marks=tuple((task, task_status) for task in watch.running),
            rest=events.CANCELLED if status != FAILED else task_status,
        )
        return Outcome(
            status,
            self.trace,
            message,
            stuck=stuck,
            alive=alive,
            stacks=stacks,
            pending=pending,
        )

    def _dump_stacks(self, pids: set[int]) -> dict[int, str]:
        """Ask stuck processes for their threads' stacks (SIGUSR1, see probe.arm_stack_dump)."""
        if self._rundir is None or not hasattr(signal, "SIGUSR1"):
            return {}
        from workloads.probe import stack_path

        asked: dict[int, Path] = {}
        for pid in sorted(pids):
            path = Path(stack_path(str(self._rundir), pid))
            if not path.exists():
                continue  # never armed: SIGUSR1 would kill it instead
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGUSR1)
                asked[pid] = path
        stacks: dict[int, str] = {}
        deadline = time.monotonic() + 1.0
        while len(stacks) < len(asked) and time.monotonic() < deadline:
            time.sleep(0.1)  # faulthandler writes at once; give it a moment to finish
            for pid, path in asked.items():
                with contextlib.suppress(OSError):
                    text = path.read_text(errors="replace")
                    if text.strip():
                        stacks[pid] = text
        return {pid: _focus(text) for pid, text in stacks.items()}

    def _lose_attempts(self, pid: int, t: int) -> list[events.Event]:
        """Worker ``pid`` died at ``t`` (dask): its attempts are lost, their tasks run again."""
        watch = self.watch
        lost: list[events.Event] = []
        for task, (tid, began) in sorted(self._attempts.pop(pid, {}).items()):
            lost.append(events.task_lost(task, pid, tid, began, t))
            self._lost_tasks.append(task)
            if watch.running.get(task, (None,))[0] == pid:
                del watch.running[task]
        watch.by_pid.pop(pid, None)
        if lost:  # a worker that died holding tasks (not one the cluster's close ended)
            self._lost_pids.append(pid)
        return lost

    def _end_gave_up(self) -> Outcome:
        """dask stopped retrying a task whose attempts kept killing their workers: crashed."""
        now = self._clock()
        watch = self.watch
        task, error = watch.gave_up[0]
        pending = watch.unstarted
        tries = self._lost_tasks.count(task)
        message = f"dask gave up on task {task}: {error}"
        if tries:
            message += f" ({tries} attempts)"
        culprit = self._lost_pids[-1] if self._lost_pids else 0
        self._kill_tree()
        self._ending = events.run_ended(
            now,
            marks=tuple((t, events.CRASHED) for t, _ in watch.gave_up)
            + tuple((t, events.CANCELLED) for t in watch.running),
            rest=events.CANCELLED,
            culprit=(culprit, None),
        )
        return Outcome(CRASHED, self.trace, message, pending=pending)

    def _end_crashed(self, pid: int, code: int | None) -> Outcome:
        """A worker process died: its tasks crashed, the rest of the run is stopped."""
        now = self._clock()
        watch = self.watch
        crashed = sorted(task for task, held in watch.running.items() if held[0] == pid)
        others = [task for task in watch.running if task not in crashed]
        pending = watch.unstarted
        what = (
            "the process running the threads"
            if pid == (self._process.pid if self._process else 0)
            else "worker"
        )
        tasks = ", ".join(f"task {task}" for task in crashed[:5])
        if code == 0:
            how = "ended with exit code 0"
        elif code is None:  # gone before anyone read its status
            how = "ended (its exit status unknown)"
        else:
            how = f"died of {exit_text(code)}"
        message = f"{what} pid {pid} {how}" + (f" while running {tasks}" if tasks else "")
        alive = self._live_processes()
        self._kill_tree()
        self._ending = events.run_ended(
            now,
            marks=tuple((task, events.CRASHED) for task in crashed)
            + tuple((task, events.CANCELLED) for task in others),
            rest=events.CANCELLED,
            culprit=(pid, code),
        )
        return Outcome(CRASHED, self.trace, message, alive=alive, pending=pending)

    def _workers_busy(self) -> bool:
        """With no task running (none can be stuck), whether the run's worker processes are
        busy coming up or going away: their CPU time grew since the last look. A pool of 256
        spawned workers takes seconds of CPU to import before its first task, and as long to
        close after its last; a start or an end that is stuck uses none."""
        if self.watch.running or self._process is None:
            return False
        try:
            children = psutil.Process(self._process.pid).children(recursive=True)
        except (psutil.Error, ValueError):
            return False
        # Per process: those that end take their CPU time with them, so no sum will do.
        grew = False
        seen: dict[int, float] = {}
        for child in children:
            with contextlib.suppress(psutil.Error):
                times = child.cpu_times()
                spent = seen[child.pid] = times.user + times.system
                grew = grew or spent > self._workers_cpu.get(child.pid, -1.0) + 0.005
        self._workers_cpu = seen
        return grew

    def _label(self, task: int, pid: int, tid: int) -> str:
        """The task's lane as the trace names it, when this thread owns the trace."""
        trace = self.trace
        if self._ingest and task < trace.count and 0 <= trace.lane[task] < len(trace.lanes):
            return trace.lanes[trace.lane[task]].label
        return _lane_label(pid, tid)

    def _holds_a_task(self, pid: int) -> bool:
        """Whether a task is running in process ``pid``."""
        return bool(self.watch.by_pid.get(pid))

    def _end_unaccounted(self) -> Outcome:
        """The backend finished, yet tasks never ended (their worker vanished without a word):
        they crashed, and the run says so instead of "finished"."""
        watch = self.watch
        running = sorted(watch.running)
        self._ending = events.run_ended(
            self._clock(),
            marks=tuple((task, events.CRASHED) for task in running),
            rest=events.CANCELLED,
        )
        lost = len(running) + watch.unstarted
        named = ", ".join(f"task {task}" for task in running[:5]) or f"{lost} task(s)"
        message = f"{named} never ended: {'its worker' if lost == 1 else 'their workers'}"
        message += " ended without finishing them"
        return Outcome(CRASHED, self.trace, message, pending=watch.unstarted)

    def _live_processes(self) -> list[LiveProcess]:
        """The run's worker processes still alive, and what state they are in."""
        if self._process is None or self._process.pid is None:
            return []
        found = []
        try:
            children = psutil.Process(self._process.pid).children(recursive=True)
        except psutil.Error:
            return []
        for child in children:
            try:
                state = child.status()
            except psutil.Error:
                continue
            label = "worker process" if child.pid in self.watch.by_pid else "process"
            found.append(LiveProcess(child.pid, state, label))
        return found

    def _kill_tree(self) -> None:
        """SIGKILL the supervisor and every descendant, then reap them all."""
        proc = self._process
        if proc is None or proc.pid is None:
            return
        victims: set[int] = set()
        try:
            root = psutil.Process(proc.pid)
            with contextlib.suppress(psutil.Error):
                root.suspend()  # no new workers while the tree is collected
            for _ in range(2):
                children = root.children(recursive=True)
                for child in children:
                    victims.add(child.pid)
                    with contextlib.suppress(psutil.Error):
                        child.kill()
            root.kill()
        except psutil.Error:
            pass
        proc.join(5)
        procs.reap(victims | self._seen_pids, timeout=3.0)

    def _finish(self) -> None:
        if self._process is not None:
            if self._process.exitcode is None:
                self._kill_tree()
            self._process.join(1)
            with contextlib.suppress(Exception):
                self._process.close()
            self._process = None  # it holds the Queue among its arguments
        if self._queue is not None:
            with contextlib.suppress(Exception):
                self._queue.close()
                self._queue.cancel_join_thread()
            self._queue = None  # its semaphores are released now, not at interpreter exit
        if self._seen_pids:
            procs.reap(self._seen_pids, timeout=0.5)
        if self._rundir is not None:  # what escaped the supervisor's own sweep came here
            procs.end_adopted(self._rundir.name)
        if self._outcome is not None and self._cpu_before is not None and self._own_workers:
            # (A cluster someone else started: its workers are not this process's children,
            # so their CPU would count as other processes' load.)
            with contextlib.suppress(Exception):
                outside = outside_load(self._cpu_before, _cpu_clock(), psutil.cpu_count() or 1)
                self._outcome.outside_cores = outside
        if self._outcome is not None:
            began, cpu = self._began
            self._outcome.watched = (
                self._events,
                time.monotonic() - began,
                time.process_time() - cpu,
            )
        if self._outcome is not None and self._rundir is not None:
            self._outcome.log = _read_log(self._rundir / "run.log")
        if self._rundir is not None:
            shutil.rmtree(self._rundir, ignore_errors=True)
            shutil.rmtree(ring.ring_folder(str(self._rundir)), ignore_errors=True)


def _lane_label(pid: int, tid: int) -> str:
    """A worker thread named by its ids (the trace's lane numbers are the reader's)."""
    return f"pid {pid}" if tid in (pid, 0) else f"pid {pid}/tid {tid}"


_OWN_THREADS = ("_flush_loop", "in watch", "_exit_when_parent_dies")


def _focus(dump: str) -> str:
    """A faulthandler dump without concviz's own helper threads (flusher, orphan guard).

    File and function names in it are the user's: control characters in them are made
    visible (the lines stay lines).
    """
    sections: list[list[str]] = []
    for line in dump.splitlines():
        if line.startswith(("Thread 0x", "Current thread 0x")) or not sections:
            sections.append([])
        sections[-1].append(line)
    kept = [s for s in sections if not any(marker in "\n".join(s) for marker in _OWN_THREADS)]
    return visible("\n".join("\n".join(s) for s in kept or sections).strip(), keep="\n")


_cleaned = False


def clean_stale_folders() -> None:
    """Remove run folders (and their rings) left by a concviz that was killed (SIGKILL, a
    power cut): those whose owner, named in the folder's name, is no longer running. Once
    per process."""
    global _cleaned
    if _cleaned:
        return
    _cleaned = True
    places = {Path(tempfile.gettempdir())}
    shared = ring.ring_folder(str(Path(tempfile.gettempdir()) / "concviz-0-x")).parent
    if shared != Path(tempfile.gettempdir()) / "concviz-0-x":  # rings apart, in /dev/shm
        places.add(shared)
    for parent in places:
        with contextlib.suppress(OSError):
            for folder in parent.glob("concviz-*"):
                if folder.is_dir() and _owner_gone(folder):
                    shutil.rmtree(folder, ignore_errors=True)


def _owner_gone(folder: Path) -> bool:
    """Whether the concviz that made ``folder`` (``concviz-PID-…``) has ended."""
    owner = folder.name.split("-")[1] if folder.name.count("-") >= 2 else ""
    if not owner.isdigit():
        return False  # not named by this version: not ours to judge
    try:
        proc = psutil.Process(int(owner))
        # A pid used again by a later process: the folder is older than it.
        return proc.create_time() > folder.stat().st_mtime + 1
    except psutil.NoSuchProcess:
        return True
    except (psutil.Error, OSError):
        return False


def _read_log(path: Path) -> str:
    try:
        with path.open("rb") as file:
            file.seek(0, os.SEEK_END)
            size = file.tell()
            file.seek(max(0, size - LOG_LIMIT))
            # What the run's code printed: kept readable, never able to act on a terminal.
            return visible(file.read().decode("utf-8", "replace"), keep="\n\t")
    except OSError:
        return ""


def run(spec: RunSpec, listener: Listener | None = None, sample_cpu: bool = False) -> Outcome:
    """Run ``spec`` to its end and return the outcome (used by the CLI and tests)."""
    return outcome_of(Session(spec, listener, sample_cpu=sample_cpu).start())


def outcome_of(session: Session) -> Outcome:
    """Wait for a started session's outcome; interrupted (Ctrl+C), the run is ended first."""
    try:
        outcome = session.wait()
    except BaseException:
        session.cancel()
        session.wait(15)
        raise
    assert outcome is not None
    return outcome
