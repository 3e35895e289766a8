"""Provides the supervisor: the clean process that runs one backend and streams its events.

The parent starts it with spawn. It owns a Unix socket that every worker process connects to
(one connection each: kill-safe, no shared lock) and is the only writer of the one
multiprocessing Queue that carries events to the parent.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from workloads import backends, events, probe, procs, pyinfo, ring
from workloads.spec import RunSpec, SpecError

FORWARD_INTERVAL_S = 0.02
EXITCODE_GRACE_NS = 1_000_000_000
# Items the parent has not taken yet beyond which the rings wait to be read: a parent that
# falls behind holds the workers back (their rings fill, they wait) instead of the supervisor
# buffering without bound.
MAX_BACKLOG = 32
EVENTS = "events"  # the tag of a pickled batch of the supervisor's own events


class Pump:
    """Reads every worker's event ring and forwards the raw records to the parent.

    Runs in a thread of the supervisor. Each worker names its ring on its connection; the
    rings are read every ``FORWARD_INTERVAL_S`` and once more when a connection ends (the
    worker's death or exit), so nothing a worker recorded is lost. The supervisor's own
    events (submissions, results, worker exits, run start and end) go through ``emit`` and
    leave in the same stream, pickled here as one ``(EVENTS, bytes)`` item per flush.

    ``emit`` is ``list.append`` itself (atomic, no lock: the driver calls it twice per task);
    a flush takes a copy and deletes that many from the front.
    """

    def __init__(
        self,
        server: socket.socket,
        put: Callable[[object], None],
        handles: Callable[[], Iterable[BaseProcess]] = lambda: (),
        backlog: Callable[[], int] = lambda: 0,
    ) -> None:
        self._server = server
        self._put = put
        self.handles = handles
        self._backlog = backlog
        self._outbox: list[events.Event] = []
        self.emit: Callable[[events.Event], None] = self._outbox.append
        """Queue a supervisor event; it leaves within ``FORWARD_INTERVAL_S``."""
        self._conns: dict[multiprocessing.connection.Connection, int | None] = {}
        self._rings: dict[multiprocessing.connection.Connection, ring.Reader] = {}
        self._down: dict[int, int] = {}  # pid -> time its connection ended
        self._known: dict[int, BaseProcess] = {}
        self.probe_ns = 0  # what the probe cost the workers that said so at their end
        self.probe_tasks = 0
        self._stopping = threading.Event()
        # finish() writes here: the pump's wait ends at once instead of at its next tick.
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="concviz-pump", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def finish(self, timeout: float) -> None:
        """Read until every connection has ended (or ``timeout``), then send what is left."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"!")
        self._thread.join(timeout + 1)
        if not self._thread.is_alive():
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _run(self) -> None:
        deadline: float | None = None
        while True:
            ready = multiprocessing.connection.wait(
                [self._server, self._wake_r, *self._conns], timeout=FORWARD_INTERVAL_S
            )
            if self._stopping.is_set() and deadline is None:
                deadline = time.monotonic() + 3.0
            for obj in ready:
                if obj is self._server:
                    self._accept()
                elif obj == self._wake_r:
                    os.read(self._wake_r, 64)
                else:
                    self._read(obj)  # type: ignore[arg-type]
            if deadline is not None or self._parent_keeps_up():
                for reader in list(self._rings.values()):
                    self._forward(reader)
            # A pool replaces (and forgets) a dead worker at once: learn handles while they live.
            if self._conns:
                self._learn_handles()
            # While finishing, the backend has joined its workers: exit codes are known.
            self._report_exits(final=deadline is not None)
            self._flush_outbox()
            if deadline is not None:
                quiet = not self._conns and not self._pending_connection()
                if (quiet and not self._down) or time.monotonic() > deadline:
                    break
        for conn in list(self._conns):
            conn.close()
        for reader in self._rings.values():
            self._forward(reader)
            reader.close()
        self._report_exits(final=True)
        self._flush_outbox()

    def _parent_keeps_up(self) -> bool:
        try:
            return self._backlog() <= MAX_BACKLOG
        except (NotImplementedError, OSError):  # no qsize() on this platform
            return True

    def _pending_connection(self) -> bool:
        return bool(multiprocessing.connection.wait([self._server], timeout=0))

    def _accept(self) -> None:
        try:
            sock, _ = self._server.accept()
        except OSError:
            return
        conn = multiprocessing.connection.Connection(sock.detach())
        self._conns[conn] = None

    def _read(self, conn: multiprocessing.connection.Connection) -> None:
        # Take every message already waiting: one wait() per message would cap throughput.
        for _ in range(64):
            if not self._read_one(conn) or not conn.poll(0):
                return

    def _read_one(self, conn: multiprocessing.connection.Connection) -> bool:
        """Read one message; False once the connection has ended."""
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            pid = self._conns.pop(conn)
            conn.close()
            reader = self._rings.pop(conn, None)
            if reader is not None:  # what the worker recorded last, before its end is told
                self._forward(reader)
                reader.close()
            if pid is not None and pid != os.getpid():
                self._down[pid] = time.perf_counter_ns()
            return False
        pid = self._conns[conn]
        if pid is not None:  # a worker's last word: what the probe cost it
            with contextlib.suppress(Exception):
                _, spent, tasks = pickle.loads(data)
                self.probe_ns += int(spent)
                self.probe_tasks += int(tasks)
            return True
        # The first message on a connection names the worker and its ring.
        hello = pickle.loads(data)
        pid = self._conns[conn] = int(hello[1])
        self._learn_handles()
        thread = hello[5] if len(hello) > 5 else None
        if thread is not None:  # a sub-interpreter's thread in this process, ready now
            self.emit(events.worker_ready(int(thread[0]), int(hello[3]), int(thread[1])))
        elif pid != os.getpid():  # workers coming up are progress, before any task
            handle = self._known.get(pid) or backends.STARTED.get(pid)
            created = getattr(handle, "created_ns", events.UNMEASURED)
            if created == events.UNMEASURED and len(hello) > 4:  # started by others (loky)
                created = int(hello[4])
            self.emit(events.worker_ready(pid, int(hello[3]), created))
        with contextlib.suppress(OSError):
            self._rings[conn] = ring.Reader(str(hello[2]), pid)
        return True

    def _forward(self, reader: ring.Reader) -> None:
        raw = reader.read()
        if raw:
            self._put(raw)

    def _learn_handles(self) -> None:
        with contextlib.suppress(Exception):  # a pool may be resizing its list right now
            for proc in self.handles():
                if proc.pid is not None:
                    self._known[proc.pid] = proc

    def _report_exits(self, final: bool = False) -> None:
        if not self._down:
            return
        now = time.perf_counter_ns()
        for pid, t in list(self._down.items()):
            proc = self._known.get(pid)
            # Read, never poll: a forkserver child's status can be read from its sentinel only
            # once, and the backend's own join would then see 255. The pool, the executor or
            # the driver polls; the status lands on the shared handle.
            code = getattr(getattr(proc, "_popen", None), "returncode", None)
            if code is None and not final and now - t < EXITCODE_GRACE_NS:
                continue
            del self._down[pid]
            self.emit(events.worker_down(pid, t, code))

    def _flush_outbox(self) -> None:
        outbox = self._outbox
        if not outbox:
            return
        batch = outbox[:]  # the driver may append meanwhile: at the end, kept for next time
        del outbox[: len(batch)]
        self._put((EVENTS, pickle.dumps(batch, pickle.HIGHEST_PROTOCOL)))


def _redirect_stdio(log_path: Path) -> None:
    # Anything a worker prints would paint over the parent's screen: send it to the run log.
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)


def _kill_descendants() -> None:
    with contextlib.suppress(Exception):
        for child in procs.living_descendants():
            with contextlib.suppress(Exception):
                child.kill()


def _die(signum: int, frame: Any) -> None:
    _kill_descendants()
    os._exit(128 + signum)


def _exit_when_parent_dies() -> None:
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        _kill_descendants()
        os._exit(70)

    threading.Thread(target=watch, name="concviz-parent-watch", daemon=True).start()


def _stop_helpers() -> None:
    """End the forkserver this supervisor started (and a resource tracker, if it started one).

    A spawned supervisor normally shares the parent's resource tracker; that one is the
    parent's to stop, and closing our copy of its pipe early would start a second tracker.
    """
    from multiprocessing import forkserver, resource_tracker

    with contextlib.suppress(Exception):
        forkserver._forkserver._stop()  # type: ignore[attr-defined]  # closes its pipe, reaps it
    tracker = resource_tracker._resource_tracker  # noqa: SLF001
    if getattr(tracker, "_pid", None) is not None:
        with contextlib.suppress(Exception):
            tracker._stop()  # type: ignore[attr-defined]
    loky_tracker = _loky_tracker()
    if loky_tracker is not None and getattr(loky_tracker, "_pid", None) is not None:
        with contextlib.suppress(Exception):
            loky_tracker._stop()


def _loky_tracker() -> Any:
    """loky's own resource tracker, where a loky run started one."""
    module = sys.modules.get("loky.backend.resource_tracker")
    return getattr(module, "_resource_tracker", None) if module is not None else None


def _helper_pids() -> set[int]:
    """multiprocessing's own helpers under this process: the forkserver, a resource tracker."""
    from multiprocessing import forkserver, resource_tracker

    pids = {
        getattr(forkserver._forkserver, "_forkserver_pid", None),  # noqa: SLF001
        getattr(resource_tracker._resource_tracker, "_pid", None),  # noqa: SLF001
        getattr(_loky_tracker(), "_pid", None),
    }
    return {pid for pid in pids if pid}


def sweep_leftovers() -> list[dict[str, Any]]:
    """End every process the run's tasks started and left running, and say which.

    The backend has finished (its workers are gone), so anything still under this process
    but multiprocessing's helpers was started by a task: a forked child, a ``subprocess``,
    a daemon that called ``setsid`` (this process adopts orphans, see ``procs``). Left alive
    they would hold the run's pipes open and outlive concviz.
    """
    ended = procs.end_all_below(keep=_helper_pids())
    return [{"pid": pid, "what": what} for pid, what in ended]


def run(
    spec: RunSpec,
    put: Callable[[object], None],
    rundir: Path,
    backlog: Callable[[], int] = lambda: 0,
) -> None:
    """Run ``spec`` in this process, sending events through ``put`` (``backlog``: how many
    items the reader has not taken yet)."""
    sock_path = str(rundir / "events.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock_path)
    server.listen(256)
    pump = Pump(server, put, backlog=backlog)
    pump.start()
    final: events.Event | None = None
    try:
        begin, end, detail = _run_backend(spec, pump, sock_path, rundir)
        final = events.run_finished(time.perf_counter_ns(), begin, end, detail)
    except BaseException as exc:  # noqa: BLE001 - every failure reaches the parent as one line
        if isinstance(exc, SpecError):
            message = str(exc)
        else:
            message = probe.error_text(exc)
            traceback.print_exc()  # into the run log, for whoever reads it
        final = events.run_failed(time.perf_counter_ns(), message)
    finally:
        probe.close()
        # Before waiting for the workers' connections: a task's child may hold one open.
        left = sweep_leftovers()
        if left and final is not None and final[0] == events.RUN_FINISHED:
            final[4]["left_behind"] = left
        # Every worker's last batch is forwarded before the run's final event.
        pump.finish(timeout=3.0)
        if final is not None and final[0] == events.RUN_FINISHED:
            # Workers that sent through dask's channel told their probe's cost there.
            remote = final[4].get("dask", {}).pop("remote_probe", {"ns": 0, "tasks": 0})
            spent, tasks = pump.probe_ns + remote["ns"], pump.probe_tasks + remote["tasks"]
            if tasks:
                final[4]["probe"] = {"ns": spent, "tasks": tasks}
        server.close()
        _stop_helpers()
        put([final])


def _run_backend(
    spec: RunSpec, pump: Pump, address: str, rundir: Path
) -> tuple[int, int, dict[str, Any]]:
    workload = spec.resolve_workload()
    lane_kind = backends.lane_kind(spec.backend)
    probe.configure(address, lane_kind, spec.start_method)
    target: Any = spec.target if spec.target is not None else workload.function
    if spec.backend == "asyncio" and spec.target is None and workload.coroutine is not None:
        target = workload.coroutine  # its asyncio form: it awaits instead of blocking the loop
    with workload.prepare(spec.params, spec.tasks, rundir) as inputs:
        opening = time.perf_counter_ns()
        with backends.backend_context(spec, pump.emit, address) as context:
            info = {
                "version": events.VERSION,
                "spec": spec.describe(),
                "note": list(workload.note),
                "tasks": len(inputs) * spec.rounds,
                "inputs": [probe.short_repr(value) for value in inputs] * spec.rounds,
                "python": pyinfo.python_facts(),
                "supervisor_pid": os.getpid(),
                "lane_kind": lane_kind,
            }
            if context is not None:
                info["dask"] = context.info
            pump.emit(events.run_started(time.perf_counter_ns(), info))
            drive = backends.Drive(
                spec=spec,
                items=list(backends.iter_items(target, inputs)),
                emit=pump.emit,
                address=address,
                fresh_worker_per_task=workload.fresh_worker_per_task,
                context=context,
            )
            pump.handles = lambda: drive.handles()
            # What the backend opened first (a cluster) counts in its wall time.
            begin = opening if context is not None else time.perf_counter_ns()
            items, count = drive.items, len(drive.items)
            for round_ in range(spec.rounds):  # a round's tasks go on from the last one's ids
                if round_:
                    drive.items = [(task + round_ * count, f, a) for task, f, a in items]
                drive.last_round = round_ == spec.rounds - 1
                backends.DRIVERS[spec.backend](drive)
                if drive.detail.get("gave_up"):  # dask stopped retrying: the run is over
                    break
        end = drive.ended_ns or time.perf_counter_ns()
        begin = drive.begun_ns or begin
        probe.close()
    return begin, end, drive.detail


def main(spec: RunSpec, out: Any, rundir: str) -> None:
    """Entry point of the supervisor process (started with spawn by the parent)."""
    path = Path(rundir)
    _redirect_stdio(path / "run.log")
    procs.become_subreaper()  # what tasks start stays in this tree, whatever they do
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _die)
    signal.signal(signal.SIGHUP, _die)
    _exit_when_parent_dies()
    probe.arm_stack_dump(rundir)
    try:
        run(spec, out.put, path, out.qsize)
    finally:
        out.close()
        out.join_thread()
        sys.stdout.flush()
    _exit_at_once()


def _exit_at_once() -> None:
    """End this process now: every event has left and every process of the run has ended.

    The parent waits for the supervisor's exit, and the interpreter's own teardown (freeing
    every module, tens of milliseconds) would only make it wait longer. multiprocessing's
    exit steps still run, as they would after ``main`` returns.
    """
    from multiprocessing import util

    util._exit_function()  # type: ignore[attr-defined]  # its finalizers, its children
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(0)
