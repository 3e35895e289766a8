"""Provides the probe: the wrapper around every task that records who ran it, when, and how.

It runs inside workers (processes and threads). Events go into the process's own shared-memory
ring (``ring``) as they happen, and the process keeps a connection to the supervisor: no lock
is shared with any other process, a death shows as end-of-file, and nothing recorded is lost.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import pickle
import reprlib
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from workloads import events, ring
from workloads.text import visible

_short_repr = reprlib.Repr()
_short_repr.maxstring = 60
_short_repr.maxother = 60
_short_repr.maxlist = 6
_short_repr.maxtuple = 6
_short_repr.maxdict = 4


# Types whose builtin repr is what reprlib would print, as long as it is short (reprlib clips
# ints at 40 characters, strings and the rest at 60): a task's result costs one repr().
_SCALARS = frozenset((int, float, str, bool, type(None)))
_FAST_LIMIT = 40


def _scalar_repr(value: Any) -> str | None:
    """A short builtin scalar's (or small tuple of them) repr, what ``short_repr`` gives; None
    for anything else. Such a value always pickles."""
    kind = type(value)
    if kind in _SCALARS or (
        kind is tuple and len(value) <= 6 and _SCALARS.issuperset(map(type, value))
    ):
        text = repr(value)  # the builtin types' repr escapes what is not printable
        if len(text) <= _FAST_LIMIT:
            return text
    return None


def short_repr(value: Any) -> str:
    """A result as a reader wants it in one line: bytes by size, the rest by a clipped repr.

    A user's ``__repr__`` may return anything, terminal escapes included: they are made
    visible here, where the text is made (one ``isprintable`` check when there are none).
    """
    text = _scalar_repr(value)
    if text is not None:
        return text
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value):,} bytes>"
    try:
        text = _short_repr.repr(value)
    except Exception as exc:  # a user's __repr__ may raise
        text = f"<{type(value).__name__}: repr failed: {type(exc).__name__}>"
    return text if text.isprintable() else visible(text)


def error_text(exc: BaseException) -> str:
    """``Type: message`` on one line, clipped, control characters made visible.

    The message is often someone else's words: an HTTP error's text is the server's status
    line, an OSError's the file name; a terminal escape in it must be read, not obeyed.
    """
    try:
        message = str(exc).strip().splitlines()
    except Exception:  # a user's __str__ may raise
        message = ["(its message could not be read)"]
    text = f"{type(exc).__name__}: {message[0][:400]}" if message else type(exc).__name__
    text = visible(text)
    return text if len(text) <= 200 else text[:199] + "…"


class TaskFailure:
    """Returned in place of a result when a task raised, so that ``map`` goes on to the rest."""

    __slots__ = ("error",)

    def __init__(self, error: str) -> None:
        self.error = error

    def __reduce__(self) -> tuple[type[TaskFailure], tuple[str]]:
        return (TaskFailure, (self.error,))

    def __repr__(self) -> str:
        return f"TaskFailure({self.error!r})"


def _created_ns(which: str = "/proc/self/stat") -> int:
    """When this process (or with ``/proc/thread-self/stat``, this thread) was created, on
    ``perf_counter_ns``'s clock (Linux: its start time in clock ticks since boot, 10 ms steps),
    or UNMEASURED."""
    try:
        with open(which, "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()
        ticks = int(fields[19])  # field 22 of the whole line: starttime
        since_boot = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
        started = ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return events.UNMEASURED
    return time.perf_counter_ns() - (since_boot - started)


class Sink:
    """One process's event channel to the supervisor: events go into the process's shared-
    memory ring the moment they happen; a connection to the supervisor names the ring and,
    by its end, tells of the process's end (however it died)."""

    def __init__(self, address: str) -> None:
        self.pid = os.getpid()
        self.ring = ring.Writer(ring.ring_folder(os.path.dirname(address)))
        self._conn = multiprocessing.connection.Client(address, family="AF_UNIX")
        self._closed = False
        self.lanes: list[_Lane] = []  # its threads' lanes: what the probe itself cost them
        # Ready now; created when the OS says (for workers whose start nobody here timed).
        # A sub-interpreter's channel is its thread's: it tells that thread and its start.
        thread = (
            (threading.get_native_id(), _created_ns("/proc/thread-self/stat"))
            if _State.lane_kind == events.LANE_INTERP
            else None
        )
        hello = (
            "hello",
            self.pid,
            str(self.ring.path),
            time.perf_counter_ns(),
            _created_ns(),
            thread,
        )
        self._conn.send_bytes(pickle.dumps(hello, pickle.HIGHEST_PROTOCOL))

    def emit(self, event: events.Event) -> None:
        """Record one event (in shared memory: it survives this process's death)."""
        if not self._closed:
            self.ring.emit(event)

    def forget(self) -> None:
        """In a forked child: drop this copy of the connection and the ring, sending nothing."""
        self._closed = True
        self._conn.close()
        self.ring.close()

    def close(self) -> None:
        """Close the connection (a worker's normal exit): the supervisor reads the rest."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):
            cost = sum(lane.cost for lane in self.lanes), sum(lane.costed for lane in self.lanes)
            self._conn.send_bytes(pickle.dumps(("cost", *cost), pickle.HIGHEST_PROTOCOL))
        with contextlib.suppress(OSError):
            self._conn.close()
        self.ring.close()


class _Children:
    """This thread's child processes, from ``/proc/thread-self/children`` (Linux): a process
    a task forks or runs is listed there, under the thread that started it."""

    def __init__(self) -> None:
        try:
            self._fd = os.open("/proc/thread-self/children", os.O_RDONLY)
        except OSError:
            self._fd = -1
        self._seen: set[int] = set()

    def new(self) -> tuple[tuple[int, str], ...]:
        """Children that appeared since the last call and still run: (pid, command)."""
        if self._fd < 0:
            return ()
        try:
            raw = os.pread(self._fd, 1 << 16, 0)
        except OSError:
            return ()
        if not raw:
            return ()
        found = []
        for pid in map(int, raw.split()):
            if pid in self._seen:
                continue
            self._seen.add(pid)
            what = _running_command(pid)
            if what is not None:
                found.append((pid, what))
        return tuple(found)

    def __del__(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)


def _running_command(pid: int) -> str | None:
    """A child's command line, or None once it has exited (a zombie left no process)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            if stat.read().rpartition(b")")[2].split()[0] == b"Z":
                return None
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            text = cmdline.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except (OSError, IndexError):
        return None
    return text[:80] or f"pid {pid}"


class _State:
    lock = threading.Lock()
    address: str | None = None
    lane_kind: str = events.LANE_PROC
    start_method: str | None = None
    sink: Sink | None = None
    targets: dict[Any, Callable[[Any], Any]] = {}
    stack_file: Any = None
    check_pickle = False  # pool workers send results back: refuse unpicklable ones clearly
    measure_input = False  # this process's tasks came pickled: tell how many bytes each took
    watch_children = False  # the user's own function may leave processes behind: say which
    children = threading.local()


def stack_path(folder: str, pid: int) -> str:
    """Where process ``pid`` of a run writes its threads' stacks when asked (SIGUSR1)."""
    return os.path.join(folder, f"stack-{pid}.txt")


def arm_stack_dump(folder: str) -> None:
    """On SIGUSR1, write every thread's Python stack to this process's own file.

    faulthandler writes from its C signal handler, so it works while the thread that runs
    the task is blocked on a lock forever (the fork deadlock).
    """
    if not hasattr(signal, "SIGUSR1"):
        return
    with contextlib.suppress(OSError, RuntimeError, ValueError, ImportError):
        import faulthandler  # here: a sub-interpreter cannot import it (nor needs it)

        _State.stack_file = open(stack_path(folder, os.getpid()), "w")  # noqa: SIM115 - lives with the process
        faulthandler.register(signal.SIGUSR1, file=_State.stack_file, all_threads=True)


def _forget_inherited_sink() -> None:
    # A forked child must not touch the parent's connection or its (possibly held) locks, nor
    # keep it open: a task's child holding its worker's connection would hide that worker's
    # death (no end-of-file) for as long as it lives.
    sink = _State.sink
    if sink is not None:
        with contextlib.suppress(Exception):
            sink.forget()
    _State.sink = None
    _State.lock = threading.Lock()
    _State.children = threading.local()
    global _threads
    _threads = threading.local()


with contextlib.suppress(RuntimeError):  # a sub-interpreter cannot fork: nothing to forget
    os.register_at_fork(after_in_child=_forget_inherited_sink)


def _sink() -> Sink | None:
    sink = _State.sink
    if sink is not None and sink.pid == os.getpid():
        return sink
    with _State.lock:  # threads of one process share one connection
        sink = _State.sink
        if sink is None or sink.pid != os.getpid():
            if _State.address is None:
                return None
            sink = _State.sink = Sink(_State.address)
        return sink


def configure(address: str, lane_kind: str, start_method: str | None) -> None:
    """Point the probe of this process at the supervisor (threads in the supervisor use this)."""
    _State.address = address
    _State.lane_kind = lane_kind
    _State.start_method = start_method


def close() -> None:
    """Flush and close this process's channel."""
    sink = _State.sink
    if sink is not None and sink.pid == os.getpid():
        sink.close()
    _State.sink = None


def _exit_when_parent_dies() -> None:
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(70)

    threading.Thread(target=watch, name="concviz-orphan-watch", daemon=True).start()


def init_worker(address: str, start_method: str | None) -> None:
    """Initializer of every worker process: signals, orphan guard, event channel."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a run stops
    for name in ("SIGTERM", "SIGHUP", "SIGWINCH", "SIGTSTP", "SIGCONT"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    _exit_when_parent_dies()
    arm_stack_dump(os.path.dirname(address))
    configure(address, events.LANE_PROC, start_method)
    _State.check_pickle = True
    _State.measure_input = True
    # Send what is left when the worker exits normally (pools call finalizers on exit).
    multiprocessing.util.Finalize(None, close, exitpriority=100)
    _sink()


def init_interpreter(address: str) -> None:
    """Initializer of every interpreter of an InterpreterPoolExecutor: the event channel.

    A sub-interpreter shares the process (no signals to set, no parent to watch, and it may
    not start daemon threads); its own copy of this module keeps its own channel and ring.
    """
    import atexit

    configure(address, events.LANE_INTERP, None)
    _State.check_pickle = True  # arguments and results cross interpreters pickled
    _State.measure_input = True
    atexit.register(close)  # when the executor ends the interpreter: what the probe cost
    _sink()


class _RemoteWriter:
    """A ring's interface for a worker whose supervisor is out of reach: every event goes out
    through ``send`` at once (dask batches what it sends), no running slots."""

    view = None

    def __init__(self, pid: int, send: Callable[[events.Event], None]) -> None:
        self.pid = pid
        self.path = ""
        self.emit = send

    def claim_slot(self) -> int:
        return -1  # a task's start is sent as an event

    def done(
        self,
        task: int,
        tid: int,
        start: int,
        end: int,
        cpu: int,
        status: int,
        text: str,
        wait: int,
        in_bytes: int,
        out_bytes: int,
    ) -> None:
        self.emit(
            events.task_done(
                task, self.pid, tid, start, end, cpu, status, text, None, wait, in_bytes, out_bytes
            )
        )

    def close(self) -> None:
        pass


class RemoteSink(Sink):
    """The event channel of a dask worker on another host: its events travel through dask's
    own (``log_event``, read by the supervisor's ``subscribe_topic``), with wall-clock times,
    since this machine's ``perf_counter_ns`` means nothing there."""

    def __init__(self, topic: str, log_event: Callable[[str, Any], None]) -> None:
        self.pid = os.getpid()
        self._topic = topic
        self._log_event = log_event
        self._to_wall = time.time_ns() - time.perf_counter_ns()
        self._closed = False
        self.sent = 0
        self.lanes: list[_Lane] = []
        self.ring = _RemoteWriter(self.pid, self.emit)  # type: ignore[assignment]
        self.emit(events.worker_ready(self.pid, time.perf_counter_ns(), _created_ns()))

    def emit(self, event: events.Event) -> None:
        if self._closed:
            return
        self.sent += 1
        self._log_event(self._topic, {"pid": self.pid, "e": [events.shift(event, self._to_wall)]})

    def forget(self) -> None:
        self._closed = True

    def close(self) -> None:
        if self._closed:
            return
        cost = sum(lane.cost for lane in self.lanes), sum(lane.costed for lane in self.lanes)
        self._log_event(self._topic, {"cost": list(cost), "sent": self.sent})
        self._closed = True


def init_dask(
    address: str,
    worker: str,
    topic: str,
    remote: bool,
    log_event: Callable[[str, Any], None],
) -> str:
    """Set a dask worker up (run by a plugin as the worker starts or joins): its tasks'
    events go to the supervisor's socket where it can reach it, else (or when ``remote``)
    through dask's event channel. Returns which: "local" or "remote"."""
    close()  # a worker of a cluster that outlives runs: the last run's channel is over
    configure(address, events.LANE_DASK, worker)  # a dask lane is told by its worker's address
    _State.check_pickle = True  # arguments and results travel pickled
    _State.measure_input = True
    if not remote and os.path.exists(address):
        try:
            _sink()
        except OSError:
            pass
        else:
            arm_stack_dump(os.path.dirname(address))
            return "local"
    _State.sink = RemoteSink(topic, log_event)
    return "remote"


def channel() -> str | None:
    """How this worker's events travel: "local" (the supervisor's socket), "remote" (dask's
    event channel), or None (no probe here)."""
    sink = _State.sink
    if sink is None or sink.pid != os.getpid():
        return None
    return "remote" if isinstance(sink, RemoteSink) else "local"


def _resolve(target: Any) -> Callable[[Any], Any]:
    if callable(target):
        return target  # type: ignore[no-any-return]
    _State.watch_children = True  # a user's function, loaded by name
    function = _State.targets.get(target)
    if function is None:
        function = _State.targets[target] = target.load()
    return function


def _report_children(sink: Sink | None, task: int, pid: int) -> None:
    """Tell the run about processes ``task`` started and left running (its thread's new
    children); the supervisor ends them when the run is over."""
    watcher = getattr(_State.children, "watcher", None)
    if watcher is None:
        watcher = _State.children.watcher = _Children()
    left = watcher.new()
    if left and sink is not None:
        sink.emit(events.task_left(task, pid, time.perf_counter_ns(), left))


# A task's CPU time is the thread's CPU clock (``time.thread_time_ns``, a system call) read
# around it. Tiny tasks would spend more on the clock than on themselves, so:
TINY_NS = 2_000  # a task this short (wall) was on a core throughout: its CPU time is its wall
FRESH_NS = 10_000  # a reading this recent serves as the next task's start reading
# A start reading reused this way may include the probe's hand-over since it (at most
# FRESH_NS of it): a task's CPU time is capped at its wall time.
# The run-queue time (runnable, not on a core) comes from ``/proc/thread-self/schedstat`` (its
# second field, in ns) where Linux reports it. A read costs about two CPU clock reads, so it is
# taken after tasks of QUEUE_MIN_NS or more only (a shorter one's figure is not measured: at
# most a few µs of it could be run-queue time), and before a task only when the last reading is
# older than QUEUE_FRESH_NS (a stream of short tasks costs one read a millisecond). A reading
# that old adds at most the run-queue time of that last millisecond to the task, within its
# wall time less its CPU time.
SCHEDSTAT = "/proc/thread-self/schedstat"
QUEUE_MIN_NS = 100_000
QUEUE_FRESH_NS = 1_000_000
# Pickling a task's argument and result again to tell their sizes costs a few µs: done for
# every task of SIZE_ALWAYS_NS or more, and for one in SIZE_EVERY of shorter ones (the first
# included); the others' sizes are not measured (a result that is not a plain scalar is always
# pickled, to refuse one that cannot travel back).
SIZE_ALWAYS_NS = 50_000
SIZE_EVERY = 16
# The probe's own time around a task is a few µs (tens after a long task: cold caches); one
# that took a millisecond or more was preempted in it (another thread took the GIL, the OS a
# core): not the probe's cost, so not counted in it.
PREEMPTED_NS = 1_000_000


def _queue_time(fd: int) -> int:
    """The run-queue time (ns) from a schedstat descriptor."""
    return int(_pread(fd, 128, 0).split()[1])


_held_read: Callable[[int], int] | None = None


def _queue_time_holding_gil() -> Callable[[int], int]:
    """:func:`_queue_time` without letting go of the GIL.

    ``os.pread`` releases the GIL, as every blocking call does. Where other Python threads
    compute (the threads backends, the supervisor's own pump), one that takes it then keeps it
    for a switch interval (5 ms): reading the figure would hold each task's end up that long
    and change the schedule it measures. libc's ``pread`` through ``ctypes.PyDLL`` keeps it.
    """
    global _held_read
    if _held_read is None:
        import ctypes

        libc = ctypes.PyDLL(None, use_errno=True)
        pread = libc.pread
        pread.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_long)
        pread.restype = ctypes.c_ssize_t
        buffer = ctypes.create_string_buffer(128)
        lock = threading.Lock()  # one buffer for the threads of the process

        def read(fd: int) -> int:
            with lock:
                size = pread(fd, buffer, 128, 0)
                raw = buffer.raw[:size]
            return int(raw.split()[1]) if size > 0 else 0

        _held_read = read
    return _held_read


def _open_schedstat() -> int:
    """This thread's run-queue counter, kept open (one ``pread`` a reading), or -1."""
    try:
        fd = os.open(SCHEDSTAT, os.O_RDONLY)
    except OSError:
        return -1
    try:
        int(os.pread(fd, 128, 0).split()[1])
    except (OSError, ValueError, IndexError):
        os.close(fd)
        return -1
    return fd


class _Lane:
    """What the probe keeps per worker thread: its channel, ids, running-task slot and its
    last CPU clock reading."""

    __slots__ = (
        "cost",
        "costed",
        "cpu",
        "function",
        "n",
        "pid",
        "queued",
        "queued_at",
        "read_at",
        "read_queue",
        "runq",
        "sink",
        "slot",
        "spent",
        "target",
        "tid",
        "view",
        "writer",
    )

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.writer = sink.ring
        self.view = sink.ring.view
        self.pid = sink.pid
        self.tid = threading.get_native_id()
        self.slot = sink.ring.claim_slot()
        self.n = 0  # tasks this thread started
        self.target: Any = None  # the last task's target, and what it resolved to
        self.function: Callable[[Any], Any] = _resolve
        self.cpu = 0  # the CPU clock's last reading
        self.read_at = -FRESH_NS - 1  # when (perf_counter_ns) it was read
        self.spent = 0  # CPU time given to tiny tasks since that reading
        self.runq = _open_schedstat()  # this thread's schedstat, or -1: not measured
        # Worker processes run tasks on one thread; the supervisor's threads share a GIL.
        # (A sub-interpreter has a GIL of its own: letting go of it hands nothing over.)
        self.read_queue: Callable[[int], int] = (
            _queue_time
            if self.runq < 0 or _State.lane_kind in (events.LANE_PROC, events.LANE_INTERP)
            else _queue_time_holding_gil()  # (ctypes is loaded only where it is needed)
        )
        self.queued = 0  # its run-queue time at the last reading
        self.queued_at = -QUEUE_FRESH_NS - 1  # when that was
        self.cost = 0  # ns this thread spent in the probe around its tasks (``costed`` of them)
        self.costed = 0
        sink.lanes.append(self)
        # Under asyncio a thread that runs a task is one of asyncio.to_thread's: a thread lane.
        kind = events.LANE_THREAD if _State.lane_kind == events.LANE_CORO else _State.lane_kind
        sink.emit(
            events.worker_up(self.pid, self.tid, time.perf_counter_ns(), kind, _State.start_method)
        )

    def __del__(self) -> None:  # the thread ended
        if self.runq >= 0:
            with contextlib.suppress(OSError):
                os.close(self.runq)


_threads = threading.local()


def _lane() -> _Lane | None:
    """This thread's lane, made at its first task (None when the probe has no channel)."""
    sink = _sink()
    if sink is None:
        return None
    lane = _threads.lane = _Lane(sink)
    return lane


_perf = time.perf_counter_ns
_thread_time = time.thread_time_ns
_slot = ring.SLOT.pack_into
_pread = os.pread
_OK = events.OK
_UNMEASURED = events.UNMEASURED


def run_task(item: tuple[int, Any, Any]) -> Any:
    """Run one task under the probe; a task that raises returns a TaskFailure instead."""
    entry = _perf()
    task, target, argument = item
    lane: _Lane | None = getattr(_threads, "lane", None)
    if lane is None or lane.sink is not _State.sink:
        lane = _lane()
        if lane is None:
            return _run_unobserved(item)
    if target is lane.target:
        function = lane.function
    else:
        function = lane.function = _resolve(target)
        lane.target = target
        entry = _perf()  # loading the function (an import, perhaps) is the work's, not the probe's
    t0 = _perf()
    if t0 - lane.read_at > FRESH_NS:  # no recent reading of the CPU clock: take one
        lane.cpu = _thread_time()
        if lane.runq >= 0 and t0 - lane.queued_at > QUEUE_FRESH_NS:
            lane.queued = lane.read_queue(lane.runq)
            lane.queued_at = t0
        lane.read_at = t0
        lane.spent = 0
    n = lane.n = lane.n + 1
    if lane.slot >= 0:  # running now: the supervisor tells it if it looks meanwhile
        _slot(lane.view, lane.slot, n, task, lane.tid, t0, n)
    else:
        lane.writer.emit(events.task_started(task, lane.pid, lane.tid, t0))
    failure: TaskFailure | None = None
    out_bytes = _UNMEASURED
    try:
        result: Any = function(argument)
    except BaseException as exc:  # noqa: BLE001 - SystemExit in a task must not hang a Pool
        t1 = _perf()
        cpu, waited = _cpu(lane, t0, t1)
        failure = TaskFailure(error_text(exc))
        text = ""
    else:
        t1 = _perf()
        wall = t1 - t0
        if wall < TINY_NS:  # on a core throughout: no time waiting for one
            cpu = wall
            waited = 0 if lane.runq >= 0 else _UNMEASURED
            lane.spent += wall
        else:
            cpu, waited = _cpu(lane, t0, t1)
        scalar = _scalar_repr(result)
        sized = wall >= SIZE_ALWAYS_NS or n % SIZE_EVERY == 1
        if _State.check_pickle and (scalar is None or sized):
            # The result travels back pickled: its size, or why it cannot (a scalar always can).
            out_bytes, problem = _pickled(result)
            text = (
                "" if problem is not None else scalar if scalar is not None else short_repr(result)
            )
            if problem is not None:
                failure = TaskFailure(problem)
        else:
            text = scalar if scalar is not None else short_repr(result)
    # The argument as it travelled (the function goes by name, the same for every task).
    in_bytes = (
        _pickled(argument)[0]
        if _State.measure_input
        and (failure is not None or t1 - t0 >= SIZE_ALWAYS_NS or n % SIZE_EVERY == 1)
        else _UNMEASURED
    )
    if failure is None:
        lane.writer.done(task, lane.tid, t0, t1, cpu, _OK, text, waited, in_bytes, out_bytes)
    else:
        if _State.check_pickle:
            out_bytes = _pickled(failure)[0]
        lane.writer.emit(
            events.task_done(
                task,
                lane.pid,
                lane.tid,
                t0,
                t1,
                cpu,
                events.ERROR,
                "",
                failure.error,
                waited,
                in_bytes,
                out_bytes,
            )
        )
    if _State.watch_children:
        _report_children(lane.sink, task, lane.pid)
    spent = t0 - entry + _perf() - t1  # the probe's own time: before and after the task
    if spent < PREEMPTED_NS:
        lane.cost += spent
        lane.costed += 1
    return result if failure is None else failure


def _cpu(lane: _Lane, t0: int, t1: int) -> tuple[int, int]:
    """The task's CPU time from the thread's CPU clock, read now, within [0, wall]; and its
    time waiting for a core (within [0, wall - CPU]; UNMEASURED where the OS has no figure)."""
    now = _thread_time()
    cpu = now - lane.cpu - lane.spent
    lane.cpu = now
    lane.read_at = t1
    lane.spent = 0
    wall = t1 - t0
    cpu = min(max(cpu, 0), wall)
    if lane.runq < 0 or wall < QUEUE_MIN_NS:
        return cpu, _UNMEASURED
    queued = lane.read_queue(lane.runq)
    waited = queued - lane.queued
    lane.queued = queued
    lane.queued_at = t1
    return cpu, min(max(waited, 0), wall - cpu)


def _pickled(value: Any) -> tuple[int, str | None]:
    """``value``'s pickled size (UNMEASURED if it cannot be pickled), and why it cannot travel
    back to the parent, or None.

    A pool pickles results in a helper thread; one that fails is reported far from its task
    (multiprocessing.Pool.map raises for the whole map). Checked here, it is one task's error.
    """
    try:
        return len(pickle.dumps(value, pickle.HIGHEST_PROTOCOL)), None
    except Exception as exc:  # noqa: BLE001 - pickling raises many kinds
        return _UNMEASURED, f"the result {short_repr(value)} cannot be pickled: {error_text(exc)}"


def _run_unobserved(item: tuple[int, Any, Any]) -> Any:
    """A task run where the probe has no channel: no events, the same results."""
    _, target, argument = item
    function = _resolve(target)
    try:
        result = function(argument)
    except BaseException as exc:  # noqa: BLE001 - SystemExit in a task must not hang a Pool
        return TaskFailure(error_text(exc))
    if _State.check_pickle:
        problem = _pickled(result)[1]
        if problem is not None:
            return TaskFailure(problem)
    return result


def process_entry(address: str, start_method: str | None, item: tuple[int, Any, Any]) -> None:
    """The body of a one-process-per-task worker."""
    init_worker(address, start_method)
    _State.check_pickle = False  # a Process returns nothing to anyone
    _State.measure_input = start_method != "fork"  # fork hands it over in memory, unpickled
    run_task(item)


class _Stepper:
    """Drives a coroutine one step (``send`` or ``throw``) at a time for the task that awaits
    it, adding up the CPU time of its steps: the time the coroutine itself held the loop."""

    __slots__ = ("coro", "cpu", "sink", "steps", "task")

    def __init__(self, coro: Any, task: int = 0, sink: Sink | None = None) -> None:
        self.coro = coro
        self.cpu = 0
        self.steps = 0
        self.task = task
        self.sink = sink  # where each step is told, on the loop's lane (None: only summed)

    def _told(self, start: int, began: int) -> None:
        spent = _thread_time() - began
        self.cpu += spent
        sink = self.sink
        if sink is not None:
            end = _perf()
            sink.emit(
                events.step(
                    self.task, sink.pid, _loop_lane(sink), start, end, min(spent, end - start)
                )
            )

    def __await__(self) -> Any:
        send, throw = self.coro.send, self.coro.throw
        value: Any = None
        error: BaseException | None = None
        while True:
            start = _perf()
            began = _thread_time()
            try:
                yielded = send(value) if error is None else throw(error)
            except StopIteration as stop:
                self._told(start, began)
                return stop.value
            except BaseException:
                self._told(start, began)
                raise
            self._told(start, began)
            self.steps += 1
            try:
                value, error = (yield yielded), None
            except BaseException as exc:  # noqa: BLE001 - a cancellation or a future's error: passed in
                value, error = None, exc


def _loop_lane(sink: Sink) -> int:
    """The loop thread's lane id, announced the first time one of its steps is told."""
    tid = threading.get_native_id()
    if tid not in _Slots.loops:
        _Slots.loops.add(tid)
        sink.emit(events.worker_up(sink.pid, tid, _perf(), events.LANE_LOOP, None))
    return tid


class _Slots:
    """The coroutine lanes of this process's event loop: a task takes the lowest free slot
    when it starts and gives it back when it ends, so overlapping tasks get lanes of their own
    and a lane holds one task at a time."""

    free: list[int] = []
    used = 0
    announced: set[int] = set()
    threaded = 0  # tasks handed to asyncio.to_thread
    loops: set[int] = set()  # the loop threads whose lanes are announced


def coroutine_lanes() -> tuple[int, int]:
    """How many tasks this process's loop had in progress at most (its coroutine lanes), and
    how many it handed to ``asyncio.to_thread``."""
    return _Slots.used, _Slots.threaded


async def _inline(function: Callable[[Any], Any], argument: Any) -> Any:
    """A plain function run as a coroutine: it holds the loop until it returns."""
    return function(argument)


async def run_coroutine(item: tuple[int, Any, Any]) -> tuple[int, Any]:
    """Run one task as a coroutine on the running loop under the probe; (task, result), a
    TaskFailure for a task that raised."""
    import heapq
    import inspect

    task, target, argument = item
    function = target if callable(target) else _resolve(target)
    if not inspect.iscoroutinefunction(function) and not callable(target):
        # A user's plain function: asyncio.to_thread runs it, the probe on that thread's lane.
        import asyncio

        _Slots.threaded += 1
        return task, await asyncio.to_thread(run_task, item)
    coro = (  # a workload's own plain function holds the loop until it returns, as it would
        function(argument) if inspect.iscoroutinefunction(function) else _inline(function, argument)
    )
    sink = _sink()
    if sink is None:
        try:
            return task, await coro
        except Exception as exc:  # noqa: BLE001 - reported as the task's error
            return task, TaskFailure(error_text(exc))
    slot = heapq.heappop(_Slots.free) if _Slots.free else _Slots.used
    if slot == _Slots.used:
        _Slots.used += 1
    tid = events.CORO_TID + slot
    _loop_lane(sink)  # the loop's own lane first, above its tasks'
    if slot not in _Slots.announced:
        _Slots.announced.add(slot)
        sink.emit(events.worker_up(sink.pid, tid, _perf(), events.LANE_CORO, None))
    stepper = _Stepper(coro, task, sink)
    t0 = _perf()
    sink.emit(events.task_started(task, sink.pid, tid, t0))
    failure: TaskFailure | None = None
    try:
        result: Any = await stepper
    except Exception as exc:  # noqa: BLE001 - the task's error, not the loop's
        failure = TaskFailure(error_text(exc))
        result = failure
    finally:
        t1 = _perf()
        heapq.heappush(_Slots.free, slot)
    cpu = min(stepper.cpu, t1 - t0)
    if failure is None:
        scalar = _scalar_repr(result)
        sink.ring.done(
            task, tid, t0, t1, cpu, _OK, scalar if scalar is not None else short_repr(result),
            _UNMEASURED, _UNMEASURED, _UNMEASURED,
        )  # fmt: skip
    else:
        sink.emit(
            events.task_done(task, sink.pid, tid, t0, t1, cpu, events.ERROR, "", failure.error)
        )
    return task, result
