"""Provides the event contract: the small picklable records the engine streams to its readers.

Events are plain tuples whose first item is the kind, so that a batch of thousands pickles and
unpickles at C speed. Each kind has a tagged tuple type below (``TaskDone`` …); ``Event`` is
their union, and a check of ``event[0]`` against a kind narrows it for the type checker. Build
them with the functions below; ``VERSION`` changes whenever a layout does.
"""

from __future__ import annotations

from typing import Any, Final, Literal

VERSION = 3  # 2: a task's start and end travel in one TASK_DONE; 3: its costs too

# Kinds. The layout of each is its type below (times are ``time.perf_counter_ns()``).
RUN_STARTED: Final = 1
RUN_FINISHED: Final = 2
RUN_FAILED: Final = 3
WORKER_UP: Final = 4
WORKER_DOWN: Final = 5
TASK_SUBMITTED: Final = 6
TASK_STARTED: Final = 7  # a task is running (told while it runs; its TASK_DONE follows)
TASK_FINISHED: Final = 8  # a task ended (recordings and replays; live runs send TASK_DONE)
TASK_RESULT: Final = 9
TASK_LEFT: Final = 10
RUN_ENDED: Final = 11
WORKER_READY: Final = 12
TASK_DONE: Final = 13  # a task's whole record, start and end: one event per task
STEP: Final = 14  # one step of a coroutine on its event loop's thread
TASK_LOST: Final = 15  # an attempt at a task that died with its worker; the task runs again

# (kind, t, info)
RunStarted = tuple[Literal[1], int, dict[str, Any]]
# (kind, t, begin_ns, end_ns, detail)
RunFinished = tuple[Literal[2], int, int, int, dict[str, Any]]
# (kind, t, message)
RunFailed = tuple[Literal[3], int, str]
# (kind, pid, tid, t, lane_kind, start_method)
WorkerUp = tuple[Literal[4], int, int, int, str, str | None]
# (kind, pid, t, exitcode | None)
WorkerDown = tuple[Literal[5], int, int, int | None]
# (kind, task, t)
TaskSubmitted = tuple[Literal[6], int, int]
# (kind, task, pid, tid, t)
TaskStarted = tuple[Literal[7], int, int, int, int]
# (kind, task, pid, tid, t, cpu_ns, status, result_repr, error, wait_ns, in_bytes, out_bytes)
TaskFinished = tuple[Literal[8], int, int, int, int, int, int, str, str | None, int, int, int]
# (kind, task, t)  the driver received the task's result
TaskResult = tuple[Literal[9], int, int]
# (kind, task, pid, t, ((child pid, what), ...))  processes it left running
TaskLeft = tuple[Literal[10], int, int, int, tuple[tuple[int, str], ...]]
# (kind, t, ((task, status), ...), status of every other unended task | None,
#  (pid, exit) | None, outside cores | None): how the parent ended the run; the last event
RunEnded = tuple[
    Literal[11],
    int,
    tuple[tuple[int, int], ...],
    int | None,
    tuple[int, int | None] | None,
    float | None,
]
# (kind, pid, t, created)  worker process ``pid``, started at ``created`` (UNMEASURED: not
# known), is ready at ``t``: its probe connected, after its imports and initializer
WorkerReady = tuple[Literal[12], int, int, int]
# (kind, task, pid, tid, start, end, cpu_ns, status, result_repr, error, wait_ns, in_bytes,
#  out_bytes): ``wait_ns`` is the time its thread was runnable but not on a core (the OS's
#  run-queue time), the bytes are the task's pickled input and result; UNMEASURED where not
#  measured (no run-queue figure from this OS, no pickling on thread backends)
TaskDone = tuple[Literal[13], int, int, int, int, int, int, int, str, str | None, int, int, int]

# (kind, task, pid, tid, start, end, cpu_ns)  a coroutine's step (one send or throw) ran on
# the loop's thread (pid, tid) from start to end, cpu_ns of it on a core
Step = tuple[Literal[14], int, int, int, int, int, int]

# (kind, task, pid, tid, start, end)  an attempt at ``task`` on (pid, tid) was lost when that
# worker died at ``end``; the engine (dask) runs the task again elsewhere
TaskLost = tuple[Literal[15], int, int, int, int, int]

Event = (
    RunStarted
    | RunFinished
    | RunFailed
    | WorkerUp
    | WorkerDown
    | TaskSubmitted
    | TaskStarted
    | TaskFinished
    | TaskResult
    | TaskLeft
    | RunEnded
    | WorkerReady
    | TaskDone
    | Step
    | TaskLost
)

UNMEASURED = -1  # a time or size that was not measured (never 0: 0 is a measurement)

# Task status as carried by TASK_DONE (and TASK_FINISHED) and kept by the trace.
PENDING = 0
RUNNING = 1
OK = 2
ERROR = 3
CRASHED = 4
CANCELLED = 5
STALLED = 6

STATUS_NAMES = {
    PENDING: "pending",
    RUNNING: "running",
    OK: "ok",
    ERROR: "error",
    CRASHED: "crashed",
    CANCELLED: "cancelled",
    STALLED: "stalled",
}

# Lane kinds, chosen by the backend that runs the task.
LANE_MAIN = "main"
LANE_THREAD = "thread"
LANE_PROC = "proc"
LANE_INTERP = "interp"  # a sub-interpreter of an InterpreterPoolExecutor: its own GIL, one pid
LANE_LOOP = "loop"  # an event loop's own thread: the steps of its coroutines, one at a time
LANE_CORO = "coro"  # a coroutine on an event loop: lanes are slots of tasks in progress
LANE_DASK = "dask"  # a dask worker's thread: its lane is told by the worker's address
PROCESS_LANES = (LANE_PROC, LANE_DASK)  # lanes of worker processes: each has a start-up
CORO_TID = 0x8000_0000  # a coroutine slot's lane id is this + its slot (no real thread's id)


def run_started(t: int, info: dict[str, Any]) -> RunStarted:
    """The supervisor is up and about to run ``info['tasks']`` tasks."""
    return (RUN_STARTED, t, info)


def run_finished(t: int, begin_ns: int, end_ns: int, detail: dict[str, Any]) -> RunFinished:
    """The backend ran from ``begin_ns`` (executor created) to ``end_ns`` (shut down)."""
    return (RUN_FINISHED, t, begin_ns, end_ns, detail)


def run_failed(t: int, message: str) -> RunFailed:
    """The run could not go on; ``message`` is one line for the user."""
    return (RUN_FAILED, t, message)


def worker_up(pid: int, tid: int, t: int, lane_kind: str, start_method: str | None) -> WorkerUp:
    """A worker (process or thread) ran its first task or announced itself."""
    return (WORKER_UP, pid, tid, t, lane_kind, start_method)


def worker_down(pid: int, t: int, exitcode: int | None) -> WorkerDown:
    """A worker process ended; a negative exit code is the signal that killed it."""
    return (WORKER_DOWN, pid, t, exitcode)


def task_submitted(task: int, t: int) -> TaskSubmitted:
    """The driver handed ``task`` to the backend."""
    return (TASK_SUBMITTED, task, t)


def task_started(task: int, pid: int, tid: int, t: int) -> TaskStarted:
    """``task`` began on the worker thread ``(pid, tid)``."""
    return (TASK_STARTED, task, pid, tid, t)


def task_finished(
    task: int,
    pid: int,
    tid: int,
    t: int,
    cpu_ns: int,
    status: int,
    result: str,
    error: str | None,
    wait_ns: int = UNMEASURED,
    in_bytes: int = UNMEASURED,
    out_bytes: int = UNMEASURED,
) -> TaskFinished:
    """``task`` ended; ``cpu_ns`` is the CPU time its thread spent in it."""
    return (
        TASK_FINISHED, task, pid, tid, t, cpu_ns, status, result, error,
        wait_ns, in_bytes, out_bytes,
    )  # fmt: skip


def task_result(task: int, t: int) -> TaskResult:
    """The driver received ``task``'s result (map order vs completion order)."""
    return (TASK_RESULT, task, t)


def task_left(task: int, pid: int, t: int, children: tuple[tuple[int, str], ...]) -> TaskLeft:
    """``task`` returned leaving these child processes of its worker running."""
    return (TASK_LEFT, task, pid, t, children)


def run_ended(
    t: int,
    marks: tuple[tuple[int, int], ...] = (),
    rest: int | None = None,
    culprit: tuple[int, int | None] | None = None,
    outside: float | None = None,
) -> RunEnded:
    """The run is over: tasks that ended without their own word get ``marks`` (and every other
    unended one ``rest``), the worker that took it down is ``culprit``."""
    return (RUN_ENDED, t, marks, rest, culprit, outside)


def worker_ready(pid: int, t: int, created: int = UNMEASURED) -> WorkerReady:
    """Worker process ``pid`` is up (its probe connected), before it runs anything; it was
    started at ``created``."""
    return (WORKER_READY, pid, t, created)


def task_done(
    task: int,
    pid: int,
    tid: int,
    start: int,
    end: int,
    cpu_ns: int,
    status: int,
    result: str,
    error: str | None,
    wait_ns: int = UNMEASURED,
    in_bytes: int = UNMEASURED,
    out_bytes: int = UNMEASURED,
) -> TaskDone:
    """``task`` ran on ``(pid, tid)`` from ``start`` to ``end``, ``cpu_ns`` of it on a core and
    ``wait_ns`` of it waiting for one."""
    return (
        TASK_DONE, task, pid, tid, start, end, cpu_ns, status, result, error,
        wait_ns, in_bytes, out_bytes,
    )  # fmt: skip


def step(task: int, pid: int, tid: int, start: int, end: int, cpu_ns: int) -> Step:
    """One step of ``task``'s coroutine ran on the loop thread ``(pid, tid)``."""
    return (STEP, task, pid, tid, start, end, cpu_ns)


def task_lost(task: int, pid: int, tid: int, start: int, end: int) -> TaskLost:
    """An attempt at ``task`` on ``(pid, tid)``, begun at ``start``, died with its worker."""
    return (TASK_LOST, task, pid, tid, start, end)


def shift(event: Event, delta: int, pid: int | None = None) -> Event:
    """A worker's event with its times moved by ``delta`` ns (and its pid replaced by ``pid``):
    how events from another clock (a dask worker on another host) join this one.

    Only what a worker's probe sends moves: worker up and ready, task started, done and left.
    """
    kind = event[0]
    times = _TIMES.get(kind)
    if times is None:
        return event
    e: list[Any] = list(event)
    for at in times:
        if e[at] != UNMEASURED:
            e[at] += delta
    if pid is not None:
        e[1 if kind in (WORKER_UP, WORKER_READY) else 2] = pid
    return tuple(e)


# Where each kind a worker sends keeps its times (shift moves them).
_TIMES: dict[int, tuple[int, ...]] = {
    TASK_DONE: (4, 5),
    TASK_STARTED: (4,),
    WORKER_UP: (3,),
    TASK_LEFT: (3,),
    WORKER_READY: (2, 3),
}
