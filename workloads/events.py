"""Provides the event contract: the small picklable records the engine streams to its readers.

Events are plain tuples whose first item is the kind, so that a batch of thousands pickles and
unpickles at C speed. Build them with the functions below and read them by the documented
positions; ``VERSION`` changes whenever a layout does.
"""

from __future__ import annotations

from typing import Any

VERSION = 1

Event = tuple[Any, ...]

# Kinds. The layout of each follows its name (times are ``time.perf_counter_ns()``).
RUN_STARTED = 1  # (kind, t, info: dict)
RUN_FINISHED = 2  # (kind, t, begin_ns, end_ns, detail: dict)
RUN_FAILED = 3  # (kind, t, message)
WORKER_UP = 4  # (kind, pid, tid, t, lane_kind, start_method)
WORKER_DOWN = 5  # (kind, pid, t, exitcode | None)
TASK_SUBMITTED = 6  # (kind, task, t)
TASK_STARTED = 7  # (kind, task, pid, tid, t)
TASK_FINISHED = 8  # (kind, task, pid, tid, t, cpu_ns, status, result_repr, error)
TASK_RESULT = 9  # (kind, task, t)  the driver received the task's result
TASK_LEFT = 10  # (kind, task, pid, t, ((child pid, what), ...))  processes it left running
# (kind, t, ((task, status), ...), status of every other unended task | None, (pid, exit) | None,
#  outside cores | None): how the parent ended the run; the last event of every run
RUN_ENDED = 11
WORKER_READY = 12  # (kind, pid, t)  a worker process connected: it is up, before any task

# Task status as carried by TASK_FINISHED and kept by the trace.
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


def run_started(t: int, info: dict[str, Any]) -> Event:
    """The supervisor is up and about to run ``info['tasks']`` tasks."""
    return (RUN_STARTED, t, info)


def run_finished(t: int, begin_ns: int, end_ns: int, detail: dict[str, Any]) -> Event:
    """The backend ran from ``begin_ns`` (executor created) to ``end_ns`` (shut down)."""
    return (RUN_FINISHED, t, begin_ns, end_ns, detail)


def run_failed(t: int, message: str) -> Event:
    """The run could not go on; ``message`` is one line for the user."""
    return (RUN_FAILED, t, message)


def worker_up(pid: int, tid: int, t: int, lane_kind: str, start_method: str | None) -> Event:
    """A worker (process or thread) ran its first task or announced itself."""
    return (WORKER_UP, pid, tid, t, lane_kind, start_method)


def worker_down(pid: int, t: int, exitcode: int | None) -> Event:
    """A worker process ended; a negative exit code is the signal that killed it."""
    return (WORKER_DOWN, pid, t, exitcode)


def task_submitted(task: int, t: int) -> Event:
    """The driver handed ``task`` to the backend."""
    return (TASK_SUBMITTED, task, t)


def task_started(task: int, pid: int, tid: int, t: int) -> Event:
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
) -> Event:
    """``task`` ended; ``cpu_ns`` is the CPU time its thread spent in it."""
    return (TASK_FINISHED, task, pid, tid, t, cpu_ns, status, result, error)


def task_result(task: int, t: int) -> Event:
    """The driver received ``task``'s result (map order vs completion order)."""
    return (TASK_RESULT, task, t)


def task_left(task: int, pid: int, t: int, children: tuple[tuple[int, str], ...]) -> Event:
    """``task`` returned leaving these child processes of its worker running."""
    return (TASK_LEFT, task, pid, t, children)


def run_ended(
    t: int,
    marks: tuple[tuple[int, int], ...] = (),
    rest: int | None = None,
    culprit: tuple[int, int | None] | None = None,
    outside: float | None = None,
) -> Event:
    """The run is over: tasks that ended without their own word get ``marks`` (and every other
    unended one ``rest``), the worker that took it down is ``culprit``."""
    return (RUN_ENDED, t, marks, rest, culprit, outside)


def worker_ready(pid: int, t: int) -> Event:
    """Worker process ``pid`` is up (its probe connected), before it runs anything."""
    return (WORKER_READY, pid, t)
