"""The dask backend: a LocalCluster, and a cluster started from the command line as users do."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from tests.conftest import assert_gone, leftover_children
from tests.test_cli import concviz
from workloads import events, procs, session
from workloads.spec import build_spec

pytest.importorskip("distributed", reason="the dask extra (distributed) is not installed")

DASK = Path(sys.executable).parent / "dask"  # the dask command-line tool, from the dask extra


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tree(pid: int) -> set[int]:
    try:
        root = psutil.Process(pid)
        return {pid} | {child.pid for child in root.children(recursive=True)}
    except psutil.Error:
        return set()


class CliCluster:
    """``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1, started from the
    command line."""

    def __init__(self, tmp: Path) -> None:
        self.address = f"tcp://127.0.0.1:{free_port()}"
        port = self.address.rsplit(":", 1)[1]
        self.logs = tmp
        self.procs = [self._start("scheduler", "--host", "127.0.0.1", "--port", port)]
        for n in (1, 2):
            self.procs.append(
                self._start(
                    f"worker{n}",
                    self.address,
                    "--nthreads",
                    "1",
                    "--nworkers",
                    "1",
                    "--host",
                    "127.0.0.1",
                )
            )
        self._wait_for_workers(2)

    def _start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        kind = "scheduler" if name == "scheduler" else "worker"
        log = (self.logs / f"{name}.log").open("wb")
        return subprocess.Popen(
            # Its web server listens on every interface unless told: here, this machine only.
            [str(DASK), kind, *args, "--no-dashboard", "--dashboard-address", "127.0.0.1:0"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def _wait_for_workers(self, n: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(self.worker_pids()) >= n and self._ready(n):
                return
            time.sleep(0.2)
        raise AssertionError(f"the CLI cluster did not start: {self.logs}")

    def _ready(self, n: int) -> bool:
        from distributed import Client

        try:
            with Client(self.address, timeout="5s", set_as_default=False) as client:
                client.wait_for_workers(n, timeout=20)
                return True
        except Exception:  # noqa: BLE001 - not up yet
            return False

    def worker_pids(self) -> set[int]:
        """The processes that run tasks: the children of each `dask worker` (its nanny)."""
        found: set[int] = set()
        for proc in self.procs[1:]:
            with_children = tree(proc.pid) - {proc.pid}
            found |= with_children
        return found

    def all_pids(self) -> set[int]:
        return set().union(*(tree(proc.pid) for proc in self.procs))

    def stop(self) -> None:
        pids = self.all_pids()
        for proc in reversed(self.procs):
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(psutil.pid_exists(p) for p in pids):
            time.sleep(0.1)
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
        # This process adopts orphans (concviz's sessions make it a subreaper): a worker
        # whose nanny ended first is this process's to reap.
        procs.reap(pids, timeout=10)
        assert_gone(pids)


@pytest.fixture(scope="module")
def cli_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliCluster]:
    started = CliCluster(tmp_path_factory.mktemp("dask"))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def nothing_else_left(cli_cluster: CliCluster) -> Iterator[None]:
    """No process of this test's runs outlives them (the CLI cluster's own do, by design)."""
    yield
    left = [p for p in leftover_children() if p.pid not in cli_cluster.all_pids()]
    assert not left, f"left behind: {[(p.pid, p.cmdline()) for p in left]}"


def killer(killed: list[int], from_task: int) -> Callable[[list[events.Event]], None]:
    """A listener that SIGKILLs the worker of the first task from ``from_task`` on to start."""

    def kill_one(batch: list[events.Event]) -> None:
        for event in batch:
            if event[0] == events.TASK_STARTED and not killed and event[1] >= from_task:
                killed.append(event[2])
                os.kill(event[2], signal.SIGKILL)

    return kill_one


def once_each(trace: object) -> None:
    """Every task started and finished once, ok."""
    stats = trace.stats()  # type: ignore[attr-defined]
    assert stats.ok == stats.tasks == trace.count  # type: ignore[attr-defined]
    assert sorted(trace.recv_order) == list(range(trace.count))  # type: ignore[attr-defined]


def test_a_local_cluster_runs_cpu_work_on_two_worker_processes(no_leftovers: None) -> None:
    spec = build_spec(workload="sum-squares", backend="dask", workers=2, tasks=6)
    outcome = session.run(spec)
    assert outcome.status == session.FINISHED, outcome.message
    trace = outcome.trace
    once_each(trace)
    lanes = [lane for lane in trace.lanes if lane.tasks]
    assert {lane.kind for lane in lanes} == {events.LANE_DASK}
    assert len({lane.pid for lane in lanes}) == 2
    assert all("127.0.0.1:" in lane.label for lane in lanes)
    # Once the cluster was up, two processes computed on two cores at once.
    first = min(trace.start[t] for t in range(trace.count))
    last = max(trace.end[t] for t in range(trace.count))
    assert trace.stats().cpu_s / ((last - first) / 1e9) > 1.1
    started = trace.info["dask"]["start_s"]
    assert 0 < started < trace.stats().wall_s  # the cluster's start counts in the wall time
    assert trace.info["dask"]["cluster"] == "local"
    assert set(trace.detail["dask"]["workers"].values()) == {"local"}  # through the socket
    assert all(trace.startup_ns(lane.pid) is not None for lane in lanes)  # worker start-up


def test_a_killed_worker_loses_its_attempt_and_dask_runs_the_task_again(
    no_leftovers: None,
) -> None:
    killed: list[int] = []
    kill_one = killer(killed, from_task=2)

    spec = build_spec(
        workload="sleep", backend="dask", workers=2, tasks=6, params={"scale": 0.1, "seed": 3}
    )
    outcome = session.run(spec, listener=kill_one)
    assert killed, "no task started to kill its worker under"
    assert outcome.status == session.FINISHED, outcome.message
    trace = outcome.trace
    once_each(trace)
    # The attempt it was running; and, if it died before its last result was taken, that
    # finished one too (dask runs it again).
    assert 1 <= len(trace.lost) <= 2
    for task, lane, t0, t1 in trace.lost:
        assert trace.lanes[lane].pid == killed[0] and t1 > t0
        assert trace.lanes[trace.lane[task]].pid != killed[0]  # run again elsewhere
        assert trace.start[task] >= t0
    assert sum(lane.tasks for lane in trace.lanes) == trace.count  # none recorded twice
    dead = [lane for lane in trace.lanes if lane.pid == killed[0]]
    assert dead[0].exitcode == -signal.SIGKILL
    assert_gone({lane.pid for lane in trace.lanes})


def test_the_dashboard_asked_for_is_served_while_the_run_goes_on(no_leftovers: None) -> None:
    import urllib.request

    served: list[int] = []

    def fetch(batch: list[events.Event]) -> None:
        for event in batch:
            if event[0] == events.RUN_STARTED:
                link = event[2]["dask"]["dashboard"]
                assert link.startswith("http://127.0.0.1:")
                with urllib.request.urlopen(link, timeout=10) as page:  # noqa: S310 - our own
                    served.append(page.status)

    spec = build_spec(
        workload="sleep", backend="dask", workers=1, tasks=2, params={"scale": 0.05},
        dask_dashboard=True,
    )  # fmt: skip
    outcome = session.run(spec, listener=fetch)
    assert outcome.status == session.FINISHED, outcome.message
    assert served == [200]


def test_events_from_another_clock_are_moved_onto_this_one() -> None:
    from workloads.cluster import Offset, Receiver

    got: list[events.Event] = []
    receiver = Receiver(got.append, {"10.0.0.7": Offset(5_000_000_000, 1000)})
    base = receiver._base
    wall = 1_800_000_000_000_000_000
    done = events.task_done(0, 4711, 4712, wall, wall + 1000, 900, events.OK, "1", None)
    receiver((0.0, {"worker": "tcp://10.0.0.7:4000", "pid": 4711, "e": [list(done)]}))
    (moved,) = got
    assert moved[4] == wall - 5_000_000_000 - base and moved[5] - moved[4] == 1000
    # A pid another host's worker already has gets a lane of its own.
    receiver((0.0, {"worker": "tcp://10.0.0.8:4000", "pid": 4711, "e": [list(done)]}))
    assert got[1][2] != 4711
    assert receiver.received == {"tcp://10.0.0.7:4000": 1, "tcp://10.0.0.8:4000": 1}
    receiver((0.0, {"worker": "tcp://10.0.0.7:4000", "cost": [100, 1], "sent": 2}))
    assert receiver.missing() == 1  # it sent two, one arrived


def test_when_dask_gives_up_the_run_is_crashed_exit_4(cli_env: dict[str, str]) -> None:
    result = concviz(
        "run", "-w", "crash", "-b", "dask", "--workers", "2", "--tasks", "4", env=cli_env
    )
    assert result.returncode == 4, result.stdout + result.stderr
    assert "dask gave up on task 3: KilledWorker" in result.stdout
    assert "×" in result.stdout  # the lost attempts, drawn on their lanes


def test_an_unreachable_scheduler_is_one_line_exit_2(cli_env: dict[str, str]) -> None:
    port = free_port()  # nothing listens there
    started = time.monotonic()
    result = concviz("run", "-b", "dask", "--scheduler", f"127.0.0.1:{port}", env=cli_env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"concviz: error: --scheduler tcp://127.0.0.1:{port}: cannot reach a dask scheduler "
        "there (Connection refused)"
    ]
    assert time.monotonic() - started < 10


def test_dask_options_go_with_the_dask_backend(cli_env: dict[str, str]) -> None:
    result = concviz("run", "-b", "thread-pool", "--dask-events", "remote", env=cli_env)
    assert result.returncode == 2
    assert "--dask-events goes with the dask backend" in result.stderr


def test_run_json_tells_the_cluster_and_the_lanes(cli_env: dict[str, str]) -> None:
    result = concviz(
        "run", "-b", "dask", "--workers", "2", "--tasks", "4", "--size", "100000", "--json",
        env=cli_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout)
    assert run["backend"] == "dask" and run["dask"]["cluster"] == "local"
    assert run["dask"]["lost_attempts"] == []
    assert all(lane["kind"] == "dask" and lane["startup_s"] is not None for lane in run["lanes"])


def test_a_cli_started_cluster_with_events_through_dasks_channel(
    cli_cluster: CliCluster, nothing_else_left: None
) -> None:
    spec = build_spec(
        workload="sum-squares",
        backend="dask",
        tasks=6,
        scheduler=cli_cluster.address,
        dask_events="remote",
    )
    outcome = session.run(spec)
    assert outcome.status == session.FINISHED, outcome.message
    trace = outcome.trace
    once_each(trace)
    pids = {lane.pid for lane in trace.lanes if lane.tasks}
    assert len(pids) == 2 and pids <= cli_cluster.worker_pids()
    assert set(trace.detail["dask"]["workers"].values()) == {"remote"}
    # Every worker's last word (what it sent) came through dask's channel, and all it sent.
    assert trace.detail["dask"]["events_missing"] == 0
    offset, error = trace.info["dask"]["offsets"]["127.0.0.1"]
    assert abs(offset) <= error + 5_000_000  # one machine, one clock: within the round trip
    # On the supervisor's clock: every task inside the run, none ending before it starts.
    for task in range(trace.count):
        assert trace.begin_ns <= trace.start[task] <= trace.end[task] <= trace.end_ns
    assert cli_cluster.worker_pids() >= pids  # the cluster is someone else's: left running


def test_a_killed_cli_worker_with_remote_events_is_a_lost_attempt_too(
    cli_cluster: CliCluster, nothing_else_left: None
) -> None:
    killed: list[int] = []
    kill_one = killer(killed, from_task=1)

    spec = build_spec(
        workload="sleep",
        backend="dask",
        tasks=4,
        params={"scale": 0.1, "seed": 3},
        scheduler=cli_cluster.address,
        dask_events="remote",
        stall_timeout=30,
    )
    outcome = session.run(spec, listener=kill_one)
    assert killed
    assert outcome.status == session.FINISHED, outcome.message
    trace = outcome.trace
    once_each(trace)
    assert [trace.lanes[lane].pid for _, lane, _, _ in trace.lost] == killed
    assert len(trace.detail["dask"]["lost_workers"]) == 1  # told by the scheduler: its address
    cli_cluster._wait_for_workers(2)  # its nanny starts a new worker: the cluster goes on


def test_a_cli_started_cluster_on_this_machine_sends_events_by_the_socket_in_rounds(
    cli_cluster: CliCluster, nothing_else_left: None
) -> None:
    spec = build_spec(
        workload="sum-squares", backend="dask", tasks=4, rounds=2, params={"size": 200_000},
        scheduler=cli_cluster.address,
    )  # fmt: skip
    outcome = session.run(spec)
    assert outcome.status == session.FINISHED, outcome.message
    trace = outcome.trace
    once_each(trace)
    assert trace.count == 8
    assert set(trace.detail["dask"]["workers"].values()) == {"local"}  # it reaches the socket
    # The probe is set up once a run: each worker said it was ready once, before its tasks.
    first = min(trace.start[t] for t in range(8))
    assert all(ready <= first for _, ready in trace.workers.values())
