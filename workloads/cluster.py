"""Provides the dask backend: a dask.distributed cluster, its workers watched like a pool's.

By default the supervisor starts a ``LocalCluster`` (worker processes on 127.0.0.1, one thread
each); ``--scheduler`` connects to a cluster someone else started. A worker plugin sets the
probe up in every worker, now and as workers join (a nanny restarts a killed one). A worker
that can reach the supervisor's socket sends its events there, like any pool worker; one on
another host cannot, and sends them through dask's own event channel instead (``log_event``,
read here by ``subscribe_topic``) with wall-clock times, which this module moves onto the
supervisor's clock with a per-host offset measured as the run starts.

Faults go the dask way: a worker that dies loses its attempts (the session shows each as a lost
span) and dask runs those tasks again elsewhere; only when dask gives up on a task
(``KilledWorker``) does the run end as crashed.

Imported only by the dask backend: it needs the ``dask`` extra (``distributed``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from distributed import Client, LocalCluster, WorkerPlugin, as_completed

from workloads import events, probe
from workloads.spec import RunSpec, SpecError

CONNECT_TIMEOUT_S = 5.0
OFFSET_ROUNDS = 5  # round trips to each worker; the shortest tells its clock's offset best
DRAIN_TIMEOUT_S = 5.0  # how long the run's end waits for events still in dask's channel
PLUGIN = "concviz-probe"


class ProbePlugin(WorkerPlugin):
    """Sets the probe up in each worker (those there now and those that join later)."""

    name = PLUGIN

    def __init__(self, address: str, topic: str, remote: bool) -> None:
        self.address = address
        self.topic = topic
        self.remote = remote

    def setup(self, worker: Any) -> None:
        probe.init_dask(self.address, worker.address, self.topic, self.remote, worker.log_event)

    def teardown(self, worker: Any) -> None:
        probe.close()


def _host(address: str) -> str:
    return urlsplit(address).hostname or address


@dataclass
class Offset:
    """A host's wall clock against the supervisor's: ``ns`` ahead, known to within ``error``."""

    ns: int
    error: int


def measure_offsets(client: Client, rounds: int = OFFSET_ROUNDS) -> dict[str, Offset]:
    """Each worker host's clock offset, by round trips (the shortest bounds the error)."""
    best: dict[str, Offset] = {}
    for _ in range(rounds):
        before = time.time_ns()
        said = client.run(time.time_ns)
        after = time.time_ns()
        middle, error = (before + after) // 2, (after - before) // 2
        for address, theirs in said.items():
            host = _host(address)
            known = best.get(host)
            if known is None or error < known.error:
                best[host] = Offset(int(theirs) - middle, error)
    return best


@dataclass
class Receiver:
    """Events from workers that send them through dask's channel: onto this clock and out.

    Runs on the client's event-loop thread; ``emit`` is the pump's (a list append)."""

    emit: Callable[[events.Event], None]
    offsets: dict[str, Offset]
    received: dict[str, int] = field(default_factory=dict)  # events per worker address
    expected: dict[str, int] = field(default_factory=dict)  # what each said it sent, at its end
    pids: dict[str, int] = field(default_factory=dict)  # worker address -> pid (as shown)
    cost_ns: int = 0
    cost_tasks: int = 0
    _owner: dict[int, str] = field(default_factory=dict)  # pid as shown -> its host
    _base: int = field(default_factory=lambda: time.time_ns() - time.perf_counter_ns())
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, item: tuple[float, dict[str, Any]]) -> None:
        _, message = item
        address = str(message.get("worker", ""))
        if "cost" in message:
            spent, tasks = message["cost"]
            with self._lock:
                self.cost_ns += int(spent)
                self.cost_tasks += int(tasks)
                self.expected[address] = int(message.get("sent", 0))
            return
        host = _host(address)
        offset = self.offsets.get(host)
        delta = -(offset.ns if offset else 0) - self._base
        pid = self._pid(host, int(message.get("pid", 0)), address)
        for raw in message.get("e", ()):
            event: Any = tuple(raw)  # msgpack hands tuples back as lists
            self.emit(events.shift(event, delta, pid))
        with self._lock:
            self.received[address] = self.received.get(address, 0) + len(message.get("e", ()))

    def _pid(self, host: str, pid: int, address: str) -> int:
        """The pid a worker's lane shows: its own, unless another host's worker has that one."""
        shown = self.pids.get(address)
        if shown is not None:
            return shown
        shown = pid
        while self._owner.get(shown, host) != host:
            shown += 1 << 22  # beyond any Linux pid: a lane of its own
        self._owner[shown] = host
        self.pids[address] = shown
        return shown

    def missing(self) -> int:
        """Events the workers said they sent that have not arrived."""
        with self._lock:
            return sum(
                max(sent - self.received.get(address, 0), 0)
                for address, sent in self.expected.items()
            )


@dataclass
class Cluster:
    """A connected client (and the LocalCluster it started, if it did), the probe set up on
    its workers, and what the run learns of it (``detail``, the run's ``dask`` facts)."""

    client: Client
    local: LocalCluster | None
    receiver: Receiver
    info: dict[str, Any]
    detail: dict[str, Any] = field(default_factory=dict)
    lost_workers: list[str] = field(default_factory=list)


@contextlib.contextmanager
def open_cluster(
    spec: RunSpec, emit: Callable[[events.Event], None], address: str
) -> Iterator[Cluster]:
    """Start (or connect to) the cluster and set the probe up on its workers; at the end take
    the workers' last events, take the probe off a cluster that outlives the run, and close
    what was started here, with every process it started.

    A LocalCluster's workers get the probe as they start (its plugin among their own), so
    their start-up ends when they are ready, not when concviz gets round to them; others get
    it by registration (and so do workers that join later). ``address``: the supervisor's
    socket."""
    logging.getLogger("distributed").setLevel(logging.ERROR)  # its warnings go to the run log
    opening = time.perf_counter_ns()
    topic = f"concviz-{uuid.uuid4().hex[:12]}"
    local: LocalCluster | None = None
    plugged = spec.scheduler is None and not spec.dask_remote
    if spec.scheduler is None:
        local = LocalCluster(
            n_workers=spec.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0" if spec.dask_dashboard else None,
            # Through its socket only: dask's channel would lose what a worker says before
            # the client subscribes to it.
            plugins={ProbePlugin(address, topic, remote=False)} if plugged else set(),
        )
        scheduler = local.scheduler_address
    else:
        scheduler = spec.scheduler
    try:
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S:g}s", set_as_default=False)
        except Exception as exc:  # noqa: BLE001 - refused, timed out, or not dask at all
            said = "no answer" if isinstance(exc, OSError) else "not a dask scheduler"
            raise SpecError(
                f"dask scheduler {scheduler}: {said} ({probe.error_text(exc)})"
            ) from None
        registered = False
        try:
            if not client.scheduler_info().get("workers"):
                client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
            workers = len(client.scheduler_info().get("workers") or {})
            # Only events that come through dask's channel need the hosts' clock offsets: a
            # LocalCluster's workers all reach the socket (unless told not to).
            offsets = measure_offsets(client) if not plugged else {}
            receiver = Receiver(emit, offsets)
            info = {
                "scheduler": scheduler,
                "cluster": "local" if local is not None else "external",
                "dashboard": client.dashboard_link if spec.dask_dashboard else None,
                "events": "remote" if spec.dask_remote else "auto",
                "offsets": {host: [o.ns, o.error] for host, o in offsets.items()},
                "n_workers": workers,
                # A LocalCluster's start, in the run's wall time (workers created, connected).
                "start_s": (time.perf_counter_ns() - opening) / 1e9 if local is not None else None,
            }
            opened = Cluster(client, local, receiver, info)
            client.subscribe_topic(topic, receiver)
            client.subscribe_topic("all", lambda item: _on_scheduler_event(opened, emit, item))
            if not plugged:
                registered = True
                client.register_plugin(ProbePlugin(address, topic, spec.dask_remote))
            opened.detail["workers"] = dict(client.run(probe.channel))
            yield opened
        finally:
            with contextlib.suppress(Exception):
                _wind_up(client, locals().get("opened"), registered, topic)
            with contextlib.suppress(Exception):
                client.close(timeout=CONNECT_TIMEOUT_S)
    finally:
        if local is not None:
            with contextlib.suppress(Exception):
                local.close(timeout=CONNECT_TIMEOUT_S)


def _on_scheduler_event(
    cluster: Cluster, emit: Callable[[events.Event], None], item: tuple[float, dict[str, Any]]
) -> None:
    """The scheduler lost a worker: one that sent through dask has no socket to tell it."""
    _, message = item
    if message.get("action") == "remove-worker" and not message.get("expected", False):
        worker = str(message.get("worker", ""))
        cluster.lost_workers.append(worker)
        pid = cluster.receiver.pids.get(worker)
        if pid is not None:
            emit(events.worker_down(pid, time.perf_counter_ns(), None))


def _wind_up(client: Client, cluster: Cluster | None, registered: bool, topic: str) -> None:
    """The run is over (however it ended): its workers' last events in, the probe taken off
    workers that outlive the run, the topics left."""
    paths: dict[str, Any] = cluster.detail.get("workers", {}) if cluster is not None else {}
    with contextlib.suppress(Exception):  # workers that joined meanwhile (none may be left)
        paths.update(client.run(probe.channel))
    if registered:  # each worker's channel closes: its last events, then what it sent
        client.unregister_worker_plugin(PLUGIN)
    if cluster is not None:
        remote = {worker for worker, path in paths.items() if path == "remote"}
        receiver = cluster.receiver
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while time.monotonic() < deadline and (
            not remote <= set(receiver.expected) or receiver.missing()
        ):
            time.sleep(0.02)
        detail = cluster.detail
        detail["workers"] = {worker: str(path) for worker, path in paths.items() if path}
        detail["lost_workers"] = list(cluster.lost_workers)
        detail["events_missing"] = receiver.missing() + len(remote - set(receiver.expected))
        if receiver.cost_tasks:
            detail["remote_probe"] = {"ns": receiver.cost_ns, "tasks": receiver.cost_tasks}
    client.unsubscribe_topic(topic)
    client.unsubscribe_topic("all")


def _worker_processes(local: LocalCluster) -> list[Any]:
    """The multiprocessing handles of a LocalCluster's worker processes (their exit codes)."""
    found = []
    for nanny in list(local.workers.values()):
        handle = getattr(
            getattr(getattr(nanny, "process", None), "process", None), "_process", None
        )
        if handle is not None:
            found.append(handle)
    return found


def drive(cluster: Cluster, spec: RunSpec, d: Any) -> None:
    """Run the tasks on the cluster: map, as-completed or wait, as the executors do."""
    client = cluster.client
    if cluster.local is not None:
        local = cluster.local
        d.handles = lambda: _worker_processes(local)
    elif d.begun_ns is None:
        # A cluster someone else started is up already: its run begins with the tasks, not
        # with concviz connecting to it and setting its probe up.
        d.begun_ns = time.perf_counter_ns()
    from workloads.backends import run_task_tagged

    for item in d.items:
        d.submitted(item[0])
    futures = client.map(run_task_tagged, d.items, pure=False)
    position = {future.key: at for at, future in enumerate(futures)}
    gave_up: list[list[Any]] = []  # [task, why]: dask stopped retrying it (KilledWorker)
    # Results come back in batches as they finish (a future's result() each would cost a
    # round trip to the client's loop per task, doubling what a task costs here). map hands
    # them on in input order as soon as it can, wait once all are in, as-completed as they come.
    # A result taken is let go at once: dask keeps what a client holds, and would compute it
    # again (a second record of a finished task) when the worker that holds it dies.
    finished = as_completed(futures, loop=client.loop, with_results=True, raise_errors=False)
    del futures
    held: dict[int, Any] = {}
    following = 0
    for future, said in finished:
        at = position.pop(future.key)
        status = future.status
        if status != "finished":
            problem = future.exception() if status == "error" else None
            error = probe.error_text(problem) if problem is not None else f"dask: {status}"
            if type(problem).__name__ == "KilledWorker":  # its text names dask's key
                error = "KilledWorker: every worker that ran it died while running it"
            gave_up.append([d.items[at][0], error])
            break
        future.release()
        if spec.mode == "as-completed":
            d.received(*said)
            continue
        held[at] = said
        while spec.mode == "map" and following in held:
            d.received(*held.pop(following))
            following += 1
    for at in sorted(held):  # wait: every result at once, in input order
        d.received(*held[at])
    # The work is over: what follows is concviz's own (and closing a cluster a script would
    # keep): not the backend's wall time.
    d.ended_ns = time.perf_counter_ns()
    if gave_up:
        with contextlib.suppress(Exception):
            client.cancel(list(finished.futures))
        d.detail["gave_up"] = gave_up
    d.detail["dask"] = cluster.detail  # filled in as the cluster winds up (its info: the run's)
    d.detail["workers"] = max(int(cluster.info["n_workers"]), 1)
