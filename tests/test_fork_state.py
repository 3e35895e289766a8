"""fork-state as a learner reads it: what a child has of its parent's threads, logging, globals.

The parent (the supervisor) runs its main thread and the workload's sleeper thread, configures
the root logger with the tutorial's 'GADZOOKS %(message)s' format and changes a module global.
A forked child copies memory but only the thread that forked; a spawned or forkserver child
starts a fresh interpreter. A thread backend runs the tasks in the parent itself.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import assert_gone
from workloads import catalog, pyinfo, session, tasks
from workloads.spec import build_spec

ROOT = Path(__file__).resolve().parent.parent
METHODS = pyinfo.available_start_methods()

PARENT = "parent: 2 threads · logging GADZOOKS · flag from parent"
FORKED = "1 thread (parent 2) · logging GADZOOKS · flag from parent"
FRESH = "1 thread (parent 2) · logging unconfigured · flag default"
IN_PARENT = "in parent: 2 threads · logging GADZOOKS · flag from parent"

EXPECTED = {"fork": FORKED, "spawn": FRESH, "forkserver": FRESH}
PROCESS_COMBOS = [
    (backend, method)
    for backend in ("processes", "mp-pool", "process-pool")
    for method in ("fork", "spawn", "forkserver")
    if method in METHODS
]
CLI_COMBOS = [
    (backend, method)
    for backend in ("mp-pool", "process-pool")
    for method in ("fork", "spawn")
    if method in METHODS
]


def run_fork_state(backend: str, method: str | None) -> session.Outcome:
    spec = build_spec(workload="fork-state", backend=backend, start_method=method, tasks=2)
    outcome = session.run(spec)
    assert outcome.status == session.FINISHED, outcome.message
    return outcome


def concviz_json(*args: str, env: dict[str, str]) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=90,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


@pytest.mark.parametrize(
    ("backend", "method"), PROCESS_COMBOS, ids=[f"{b}-{m}" for b, m in PROCESS_COMBOS]
)
def test_a_child_process_reports_what_it_got_from_its_parent(
    backend: str, method: str, no_leftovers: None
) -> None:
    outcome = run_fork_state(backend, method)
    trace = outcome.trace
    supervisor = trace.info["supervisor_pid"]
    for task in range(2):
        view = trace.task(task)
        assert view.input == PARENT
        # Whole, not clipped by probe.short_repr: the learner reads all three facts.
        assert view.result == repr(EXPECTED[method])
        assert view.lane is not None and view.lane.pid != supervisor
    assert_gone({lane.pid for lane in trace.lanes} | {supervisor})


@pytest.mark.parametrize("backend", ["sequential", "threads", "thread-pool"])
def test_a_thread_backend_shares_the_parents_state(backend: str, no_leftovers: None) -> None:
    outcome = run_fork_state(backend, None)
    trace = outcome.trace
    for task in range(2):
        view = trace.task(task)
        assert view.input == PARENT
        assert view.result == repr(IN_PARENT)
        assert view.lane is not None and view.lane.pid == trace.info["supervisor_pid"]


@pytest.mark.parametrize(("backend", "method"), CLI_COMBOS, ids=[f"{b}-{m}" for b, m in CLI_COMBOS])
def test_the_cli_shows_fork_and_spawn_differ(
    backend: str, method: str, cli_env: dict[str, str], no_leftovers: None
) -> None:
    data = concviz_json(
        "run", "-w", "fork-state", "-b", backend, "--start-method", method, "--tasks", "2",
        env=cli_env,
    )  # fmt: skip
    assert (data["status"], data["ok"], data["errors"]) == ("finished", 2, 0)
    results = data["results"]
    assert isinstance(results, list)
    assert [(r["input"], r["result"]) for r in results] == [
        (PARENT, repr(EXPECTED[method])),
    ] * 2


def test_the_prepare_step_measures_the_parent_and_undoes_its_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = logging.getLogger()
    # A clean root logger, as in the supervisor (pytest's capture handlers have formats too).
    monkeypatch.setattr(root, "handlers", [])
    workload = catalog.WORKLOADS["fork-state"]
    with workload.prepare(workload.defaults(), 3, ROOT) as inputs:
        assert len(inputs) == 3
        state = inputs[0]
        assert isinstance(state, tasks.ParentState)
        assert state.threads == tasks.program_threads()
        assert "sleeper" in {t.name for t in threading.enumerate()}
        assert (state.log, state.flag) == ("logging GADZOOKS", "from parent")
        # Run here, in the parent itself, the task sees the very same state.
        assert tasks.inherited_state(state).startswith(f"in parent: {state.threads} threads · ")
    assert tasks.flag == tasks.FLAG_DEFAULT
    assert root.handlers == []
    assert "sleeper" not in {t.name for t in threading.enumerate()}


def test_concviz_and_pool_threads_are_not_the_programs_threads() -> None:
    before = tasks.program_threads()
    stop = threading.Event()
    helper = threading.Thread(target=stop.wait, name="concviz-helper", daemon=True)
    own = threading.Thread(target=stop.wait, name="own", daemon=True)
    helper.start()
    own.start()
    try:
        with ThreadPoolExecutor(2) as pool:
            pool.submit(stop.wait, 0.05).result()
            assert tasks.program_threads() == before + 1  # only "own"
    finally:
        stop.set()
        helper.join(2)
        own.join(2)
