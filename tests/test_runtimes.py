"""What this Python has: interpreter-pool where it exists, the GIL as the runtime sets it.

No free-threaded interpreter can be installed here: the free-threading verdicts are checked
with the runtime's facts written into a recorded run, as a 3.13t/3.14t run records them.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.recorded import thread_run
from workloads import pyinfo, session
from workloads.compare import assess, parse_backends
from workloads.spec import SpecError, build_spec

HAS_INTERPRETERS = sys.version_info >= (3, 14)


@pytest.mark.skipif(HAS_INTERPRETERS, reason="this Python has InterpreterPoolExecutor")
def test_interpreter_pool_is_refused_here_naming_the_python_it_needs(
    cli_env: dict[str, str],
) -> None:
    with pytest.raises(SpecError, match=r"needs Python 3\.14 or newer"):
        build_spec(backend="interpreter-pool")
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli", "run", "-b", "interpreter-pool"],
        capture_output=True, text=True, env=cli_env, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "needs Python 3.14" in done.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "tui.cli", "list", "--json"],
        capture_output=True, text=True, env=cli_env, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    backends = {b["name"]: b for b in json.loads(listed.stdout)["backends"]}
    assert backends["interpreter-pool"]["available"] is False
    assert "3.14" in backends["interpreter-pool"]["reason"]
    assert backends["asyncio"]["available"] is True
    # compare races what this Python has, and says why when asked for what it has not
    assert "interpreter-pool" not in parse_backends(None, build_spec())
    with pytest.raises(SpecError, match="3.14"):
        parse_backends("threads,interpreter-pool", build_spec())


@pytest.mark.skipif(not HAS_INTERPRETERS, reason="InterpreterPoolExecutor needs Python 3.14")
def test_interpreter_pool_computes_in_parallel_in_one_process(no_leftovers: None) -> None:
    spec = build_spec(
        workload="sum-squares", backend="interpreter-pool", workers=2, tasks=8,
        params={"size": 2_000_000},
    )  # fmt: skip
    outcome = session.run(spec)
    assert outcome.status == session.FINISHED, outcome.message + outcome.log
    trace = outcome.trace
    assert {lane.pid for lane in trace.lanes} == {trace.info["supervisor_pid"]}
    assert len({lane.tid for lane in trace.lanes}) == 2, "an interpreter per worker thread"
    assert trace.stats().ok == 8
    for lane in trace.lanes:  # each interpreter's start: its thread's creation until it is ready
        created, ready = trace.lane_startup_ns(lane) or (0, 0)
        assert (
            0 < created < ready <= min(trace.start[t] for t in range(8) if trace.lane[t] == lane.id)
        )
    if pyinfo.usable_cpus() >= 2:
        assert trace.stats().cpu_parallelism > 1.3, "each interpreter has a GIL of its own"


def facts(trace_gil: bool, free_threaded: bool) -> str:
    trace = thread_run()  # two pool threads, CPU-bound, taking turns on one core
    python = trace.info["python"]
    python["gil_enabled"] = trace_gil
    python["free_threaded_build"] = free_threaded
    return assess(trace, session.FINISHED).reading


def test_verdicts_say_what_this_runtime_does_with_the_gil() -> None:
    assert "the GIL lets one thread run Python at a time" in facts(True, False)
    reenabled = facts(True, True)
    assert "re-enabled at run time" in reenabled
    off = facts(False, True)
    assert "without the GIL" in off and "the GIL lets" not in off


def test_the_runtime_line_names_the_gil_state() -> None:
    assert pyinfo.gil_text({"gil_enabled": True, "free_threaded_build": False}) == "GIL on"
    assert pyinfo.gil_text({"gil_enabled": False, "free_threaded_build": True}) == "GIL off"
    assert "re-enabled" in pyinfo.gil_text({"gil_enabled": True, "free_threaded_build": True})
    here = pyinfo.python_facts()
    assert here["free_threaded_build"] is False  # no free-threaded build can be had here


def test_loky_runs_its_own_workers_and_a_killed_one_ends_the_run_as_crashed(
    cli_env: dict[str, str], no_leftovers: None
) -> None:
    outcome = session.run(
        build_spec(
            workload="sum-squares", backend="loky", workers=2, tasks=6, params={"size": 200_000}
        )
    )
    assert outcome.status == session.FINISHED, outcome.message
    trace = outcome.trace
    assert trace.stats().ok == 6
    assert trace.info["supervisor_pid"] not in {lane.pid for lane in trace.lanes}
    assert {lane.start_method for lane in trace.lanes if lane.tasks} == {"loky"}
    assert not trace.left_behind(), "loky's own resource tracker is its helper, not a task's"
    started = [trace.startup_ns(lane.pid) for lane in trace.lanes if lane.tasks]
    assert all(known is not None and known[1] > known[0] for known in started), started
    crashed = subprocess.run(
        [sys.executable, "-m", "tui.cli", "run", "-w", "crash", "-b", "loky", "--tasks", "6",
         "--crash-at", "2", "--crash-how", "kill"],
        capture_output=True, text=True, env=cli_env, timeout=90, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert crashed.returncode == 4, crashed.stdout + crashed.stderr
    assert "died of SIGKILL while running task 2" in crashed.stdout
