"""Worker crashes, hangs, signals and unpicklable results, on real process trees."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT, assert_gone, leftover_children
from workloads import events, pyinfo, session
from workloads.export import chrome_trace
from workloads.spec import build_spec

HERE = Path(__file__).resolve().parent
PROCESS_BACKENDS = ("processes", "mp-pool", "process-pool")


def every_task_ended_once(outcome: session.Outcome) -> Counter[str]:
    """Each task is in exactly one final state; returns the counts by state."""
    states = Counter(events.STATUS_NAMES[code] for code in outcome.trace.status)
    assert states["pending"] == 0 and states["running"] == 0, states
    assert sum(states.values()) == outcome.trace.count
    return states


def run_pids(outcome: session.Outcome) -> set[int]:
    pids = {lane.pid for lane in outcome.trace.lanes}
    pids.add(outcome.trace.info.get("supervisor_pid", 0))
    return pids - {0}


@pytest.mark.parametrize("how", ["exit", "kill", "segfault"])
@pytest.mark.parametrize("backend", PROCESS_BACKENDS)
def test_a_dying_worker_ends_the_run_as_crashed(backend: str, how: str, no_leftovers: None) -> None:
    spec = build_spec(
        workload="crash",
        backend=backend,
        tasks=6,
        workers=2,
        stall_timeout=30,
        params={"crash_at": 2, "crash_how": how},
    )
    started = time.monotonic()
    outcome = session.run(spec)
    assert time.monotonic() - started < 10, "detected long before the stall timeout"
    assert outcome.status == session.CRASHED, outcome.message
    expected = {"exit": "exit code 1", "kill": "SIGKILL", "segfault": "SIGSEGV"}[how]
    assert expected in outcome.message and "task 2" in outcome.message
    states = every_task_ended_once(outcome)
    assert states["crashed"] == 1
    assert outcome.trace.task(2).status == "crashed"
    dead = outcome.trace.task(2).lane
    assert dead is not None and dead.exitcode not in (None, 0)
    assert_gone(run_pids(outcome))


def test_a_crash_in_a_thread_takes_its_process_and_is_reported(no_leftovers: None) -> None:
    spec = build_spec(
        workload="crash",
        backend="thread-pool",
        tasks=4,
        params={"crash_how": "kill", "crash_at": 1},
    )
    outcome = session.run(spec)
    assert outcome.status == session.CRASHED
    assert "SIGKILL" in outcome.message
    every_task_ended_once(outcome)


def test_a_raising_task_is_an_error_and_the_run_goes_on() -> None:
    spec = build_spec(
        workload="crash", backend="mp-pool", tasks=5, params={"crash_how": "raise", "crash_at": 1}
    )
    outcome = session.run(spec)
    assert outcome.status == session.FINISHED
    assert every_task_ended_once(outcome) == Counter({"ok": 4, "error": 1})
    assert outcome.trace.task(1).error == "RuntimeError: task 1 failed on purpose"


@pytest.mark.parametrize("backend", ["thread-pool", "process-pool"])
def test_a_hang_stalls_and_shows_where_it_is_stuck(backend: str, no_leftovers: None) -> None:
    spec = build_spec(
        workload="hang", backend=backend, tasks=4, stall_timeout=1.0, params={"hang_at": 1}
    )
    outcome = session.run(spec)
    assert outcome.status == session.STALLED
    assert [s.task for s in outcome.stuck] == [1]
    stuck_pid = outcome.stuck[0].pid
    assert "in hang" in outcome.stacks[stuck_pid]
    assert every_task_ended_once(outcome)["stalled"] == 1
    # The run lasted until it was stopped, the stuck task all that time (in its trace too).
    assert outcome.trace.stats().wall_s >= spec.stall_timeout
    span = next(e for e in chrome_trace(outcome.trace)["traceEvents"] if e.get("cat") == "stalled")
    assert span["dur"] >= spec.stall_timeout * 1e6
    assert_gone(run_pids(outcome))


@pytest.mark.skipif("fork" not in pyinfo.available_start_methods(), reason="needs fork")
def test_the_fork_deadlock_stack_points_at_the_inherited_lock() -> None:
    spec = build_spec(
        workload="fork-deadlock",
        backend="processes",
        start_method="fork",
        tasks=150,
        stall_timeout=1.5,
    )
    outcome = session.run(spec)
    assert outcome.status == session.STALLED
    dumps = "\n".join(outcome.stacks.values())
    if outcome.stuck:  # a child hung inside its task (nearly always): logging waits on a lock
        assert "logging" in dumps and (
            "queue.py" in dumps or "acquire" in dumps or "__enter__" in dumps
        )


def test_an_unpicklable_result_is_that_task_s_error(no_leftovers: None) -> None:
    for backend in ("mp-pool", "process-pool"):
        spec = build_spec(
            target=f"{HERE / 'sample_targets.py'}:lock_result",
            inputs="[1, 2, 3]",
            backend=backend,
            start_method="spawn",
        )
        outcome = session.run(spec)
        assert outcome.status == session.FINISHED
        assert every_task_ended_once(outcome) == Counter({"ok": 2, "error": 1})
        error = outcome.trace.task(1).error or ""
        assert "cannot be pickled" in error and "lock" in error


def test_a_lambda_target_runs_under_spawn() -> None:
    # concviz loads --target by name in each worker, so a module-level lambda works too.
    spec = build_spec(
        target="tests.sample_targets:lambda_square",
        inputs="[2, 3]",
        backend="process-pool",
        start_method="spawn",
        cwd=str(ROOT),
    )
    outcome = session.run(spec)
    assert outcome.status == session.FINISHED
    assert [outcome.trace.task(t).result for t in range(2)] == ["4", "9"]


def _cli(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "tui.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )


def _descendants_when_running(
    proc: subprocess.Popen[str], count: int, timeout: float = 30
) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = psutil.Process(proc.pid).children(recursive=True)
        if len(kids) >= count:
            time.sleep(0.3)
            return {k.pid for k in psutil.Process(proc.pid).children(recursive=True)}
        time.sleep(0.05)
    raise AssertionError("the run never started its workers")


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)]
)
def test_signals_to_concviz_run_take_the_whole_tree_down(sig: signal.Signals, code: int) -> None:
    proc = _cli("run", "-w", "sleep", "-b", "mp-pool", "--scale", "2", "--tasks", "4")
    pids = _descendants_when_running(proc, 3)
    started = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=10)
    assert time.monotonic() - started < 2.5
    assert proc.returncode == code, err
    assert "interrupted" in err and "Traceback" not in err
    assert_gone(pids - {proc.pid})


def test_concviz_run_exit_codes_for_crash_and_stall() -> None:
    crashed = _cli("run", "-w", "crash", "-b", "process-pool", "--crash-how", "segfault", "--json")
    out, _ = crashed.communicate(timeout=60)
    assert crashed.returncode == 4
    data = json.loads(out)
    assert data["status"] == "crashed" and "SIGSEGV" in data["message"]
    stalled = _cli("run", "-w", "hang", "-b", "mp-pool", "--stall-timeout", "1")
    out, _ = stalled.communicate(timeout=60)
    assert stalled.returncode == 3
    assert "where pid" in out and "in hang" in out


def test_no_color_is_honoured_by_the_report() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1", FORCE_COLOR="1")
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "run", "-w", "double", "-b", "threads", "--tasks", "3"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0
    colour = re.compile(r"\x1b\[(?:\d+;)*(?:3[0-7]|38;)")  # a foreground colour, not italic (3m)
    assert not colour.search(result.stdout)
    assert "\x1b[1m" in result.stdout  # styles without colour remain


def test_nothing_is_left_after_all_of_the_above() -> None:
    assert not leftover_children()


def _target_run(function: str, backend: str, inputs: str, stall: float) -> session.Outcome:
    spec = build_spec(
        target=f"{HERE / 'sample_targets.py'}:{function}",
        inputs=inputs,
        backend=backend,
        workers=2,
        stall_timeout=stall,
    )
    return session.run(spec)


@pytest.mark.parametrize("attempt", range(3))
@pytest.mark.parametrize("backend", PROCESS_BACKENDS)
def test_a_worker_killed_the_instant_its_task_starts_is_a_crash_not_a_stall(
    backend: str, attempt: int, no_leftovers: None
) -> None:
    started = time.monotonic()
    outcome = _target_run("kill_now", backend, "[0, 1, 2, 3]", stall=0)  # never stall
    assert time.monotonic() - started < 15
    assert outcome.status == session.CRASHED, outcome.message
    assert "SIGKILL while running task 2" in outcome.message
    states = every_task_ended_once(outcome)
    assert states["crashed"] == 1


@pytest.mark.parametrize("backend", PROCESS_BACKENDS)
def test_a_worker_that_exits_0_mid_task_has_crashed(backend: str, no_leftovers: None) -> None:
    outcome = _target_run("exit_zero", backend, "[0, 1, 2]", stall=0)
    assert outcome.status == session.CRASHED, outcome.message
    assert "while running task 1" in outcome.message
    assert "exit code 0" in outcome.message or "exit status unknown" in outcome.message
    assert outcome.trace.task(1).status == "crashed"
    every_task_ended_once(outcome)


def test_a_stopped_worker_s_task_shows_as_started_and_stuck(no_leftovers: None) -> None:
    outcome = _target_run("stop_self", "mp-pool", "[0, 1, 2, 3]", stall=1.5)
    assert outcome.status == session.STALLED, outcome.message
    stuck = {s.task for s in outcome.stuck}
    assert 1 in stuck, "its start was recorded before the worker stopped"
    assert outcome.trace.task(1).start_ns != -1
    every_task_ended_once(outcome)


def test_workers_coming_up_are_progress_not_a_stall(no_leftovers: None) -> None:
    """32 spawned workers take seconds of CPU to import before the first task runs."""
    spec = build_spec(
        workload="double",
        backend="mp-pool",
        start_method="spawn",
        workers=32,
        tasks=64,
        stall_timeout=0.5,
    )
    outcome = session.run(spec)
    assert outcome.status == session.FINISHED, outcome.message
    assert outcome.trace.stats().ok == 64


def test_folders_left_by_a_killed_concviz_are_removed_at_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(session, "_cleaned", False)
    dead = tmp_path / "concviz-999999-abc"  # its owner (pid 999999) is gone
    dead.mkdir()
    (dead / "run.log").write_text("x" * 1000)
    alive = tmp_path / f"concviz-{os.getpid()}-def"  # this process still runs
    alive.mkdir()
    other = tmp_path / "concviz-not-ours"
    other.mkdir()
    session.clean_stale_folders()
    assert not dead.exists()
    assert alive.exists() and other.exists()
