"""End to end in a real pseudo-terminal: start concviz, press keys, read the screen."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from tests.conftest import ROOT, assert_gone
from tests.pty_terminal import Terminal


def start_a_run(terminal: Terminal) -> set[int]:
    """Press r once the dashboard is up; the pids of the run's processes once lanes show."""
    terminal.wait_for(lambda s: "timeline" in s)
    terminal.press("r")
    terminal.wait_for(lambda s: "p1 " in s or "proc 1 ·" in s)
    return {p.pid for p in descendants(terminal.proc.pid)}


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.fixture
def terminal() -> Terminal:
    term = Terminal("-w", "sleep", "-b", "process-pool", "--tasks", "6", "--scale", "0.3")
    yield term
    term.close()


def test_run_in_a_real_terminal_then_quit_leaves_nothing(terminal: Terminal) -> None:
    terminal.wait_for(lambda s: "timeline" in s and "Press r to run" in s)
    terminal.press("r")
    screen = terminal.wait_for(lambda s: "p1 " in s or "proc 1 ·" in s)
    assert "running" in screen
    workers = {p.pid for p in descendants(terminal.proc.pid)}
    assert workers, "the run has processes"
    terminal.press("q")
    terminal.proc.wait(10)
    assert terminal.proc.returncode == 0
    assert_gone(workers)


def test_sighup_ends_the_dashboard_and_its_run(terminal: Terminal) -> None:
    workers = start_a_run(terminal)
    started = time.monotonic()
    terminal.proc.send_signal(signal.SIGHUP)
    terminal.proc.wait(10)
    assert time.monotonic() - started < 5
    assert_gone(workers)


def test_no_terminal_says_what_to_use_instead() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )
    assert result.returncode == 2
    assert "needs a terminal" in result.stderr and "concviz run" in result.stderr


def test_losing_the_terminal_ends_the_dashboard_and_its_run(terminal: Terminal) -> None:
    workers = start_a_run(terminal)
    os.close(terminal.master)  # the terminal emulator (or the SSH connection) is gone
    terminal.master = os.open(os.devnull, os.O_RDONLY)  # for close() in the fixture
    terminal.proc.wait(10)
    assert_gone(workers)


@pytest.mark.parametrize(
    "env", [{"TERM": "dumb"}, {"NO_COLOR": "1"}], ids=["TERM=dumb", "NO_COLOR"]
)
def test_plain_terminals_get_a_working_dashboard(env: dict[str, str]) -> None:
    term = Terminal("-w", "double", "-b", "threads", "--tasks", "3", **env)
    try:
        term.wait_for(lambda s: "timeline" in s)
        term.press("r")
        term.wait_for(lambda s: "finished" in s)
        term.press("q")
        assert term.proc.wait(10) == 0
    finally:
        term.close()


def test_a_too_small_terminal_says_so() -> None:
    term = Terminal(cols=50, rows=12)
    try:
        term.wait_for(lambda s: "Too small: concviz needs 60×16 or more." in s)
        term.press("q")
        assert term.proc.wait(10) == 0
    finally:
        term.close()


def test_the_dashboard_opens_on_the_users_own_function() -> None:
    term = Terminal(
        "--target", "tests/sample_targets.py:where", "--inputs", "[1, 2, 3]", "-b", "thread-pool"
    )
    try:
        term.wait_for(lambda s: "where (yours)" in s and "timeline" in s)
        term.press("r")
        term.wait_for(lambda s: "finished" in s and "3/3 tasks" in s)
        term.press("c")
        screen = term.wait_for(lambda s: "→ use" in s or "→ stay sequential" in s, timeout=90)
        assert "sample_targets.py:where" in screen
        term.press("\x1b")  # esc: back to the dashboard
        term.wait_for(lambda s: "where (yours)" in s)
        term.press("q")
        assert term.proc.wait(10) == 0
    finally:
        term.close()


def test_at_80x24_a_threads_run_shows_most_of_its_lanes() -> None:
    term = Terminal("-w", "sleep", "-b", "threads", "--tasks", "14", "--scale", "0.1",
                    cols=80, rows=24)  # fmt: skip
    try:
        term.wait_for(lambda s: "timeline" in s)
        term.press("r")
        screen = term.wait_for(lambda s: "finished" in s)
        lanes = [line for line in screen.splitlines() if line.lstrip("│ ").startswith("t")]
        assert len(lanes) >= 12, screen
        term.press("v")  # the side panes come back
        term.wait_for(lambda s: "workloads" in s and "executor" in s)
    finally:
        term.close()
