"""End to end in a real pseudo-terminal: start concviz, press keys, read the screen."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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
    assert terminal.wait_exit(10) == 0
    assert_gone(workers)


def test_sighup_ends_the_dashboard_and_its_run(terminal: Terminal) -> None:
    workers = start_a_run(terminal)
    started = time.monotonic()
    terminal.proc.send_signal(signal.SIGHUP)
    terminal.wait_exit(10)
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
        assert term.wait_exit(10) == 0
    finally:
        term.close()


def test_a_too_small_terminal_says_so() -> None:
    term = Terminal(cols=50, rows=12)
    try:
        term.wait_for(lambda s: "Too small: concviz needs 60×16 or more." in s)
        term.press("q")
        assert term.wait_exit(10) == 0
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
        assert term.wait_exit(10) == 0
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


def test_a_hang_up_of_the_session_concviz_leads_leaves_nothing() -> None:
    """`exec concviz` in a tmux pane or over ssh: concviz leads the session, and when the
    terminal goes every process of its group gets SIGHUP — the resource tracker too."""
    import glob
    import pty
    import tempfile

    def shared() -> set[str]:
        return set(glob.glob("/dev/shm/sem.mp-*")) | set(glob.glob("/dev/shm/concviz-*"))

    before = shared()
    pid, master = pty.fork()
    if pid == 0:  # the child leads a new session with the pty as its terminal
        os.environ.update(TERM="xterm-256color", PYTHONPATH=str(ROOT))
        os.chdir(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "tui.cli", "-w", "sleep", "-b",
                                  "process-pool", "--tasks", "6", "--scale", "1"])  # fmt: skip
    try:
        screen = b""
        deadline = time.monotonic() + 30
        while b"timeline" not in screen and time.monotonic() < deadline:
            screen += os.read(master, 65536)
        os.write(master, b"r")
        tree: list[psutil.Process] = []
        while len(tree) < 4 and time.monotonic() < deadline:  # tracker, supervisor, 2 workers
            time.sleep(0.05)
            with contextlib.suppress(OSError):
                os.read(master, 65536)
            tree = descendants(pid)
        started = time.monotonic()
        os.close(master)  # the terminal is gone: the kernel hangs up the session
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 129
        # The resource tracker outlives concviz by a moment: it unlinks what the run left.
        while living := [p.pid for p in tree if _alive(p)]:
            assert time.monotonic() - started < 2.5, living
            time.sleep(0.02)
        assert time.monotonic() - started < 2.5, "everything ended within two seconds"
        assert shared() <= before, "no semaphore or ring left in /dev/shm"
        assert not glob.glob(os.path.join(tempfile.gettempdir(), f"concviz-{pid}-*"))
    finally:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_a_run_of_many_tiny_tasks_draws_to_its_end_and_q_still_answers() -> None:
    """200,000 tasks pour in faster than frames can take them; the dashboard stays whole."""
    term = Terminal("-w", "double", "-b", "mp-pool", "--tasks", "200000", "--chunksize", "5000")
    try:
        term.wait_for(lambda s: "timeline" in s)
        term.press("r")
        term.wait_for(lambda s: "200000/200000 tasks" in s and "finished" in s, timeout=120)
        started = time.monotonic()
        term.press("q")
        assert term.wait_exit(10) == 0
        assert time.monotonic() - started < 3
    finally:
        term.close()


def test_a_big_recording_loads_with_the_dashboard_up_and_q_quits_at_once(
    tmp_path: Path,
) -> None:
    """Seconds of loading are shown as loading, and a user can leave during them."""
    import json

    spans = [
        {"ph": "X", "name": "task", "pid": 1, "tid": 1 + task % 2, "ts": task * 10.0,
         "dur": 9.0, "args": {"task": task, "input": "x" * 40, "result": "y" * 60}}
        for task in range(90_000)
    ]  # fmt: skip
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"traceEvents": spans}))
    assert path.stat().st_size > 16 * 2**20
    term = Terminal("replay", str(path))
    try:
        term.wait_for(lambda s: "Loading big.json" in s, timeout=10)
        started = time.monotonic()
        term.press("q")
        assert term.wait_exit(10) == 0
        assert time.monotonic() - started < 1.5
    finally:
        term.close()


def test_a_hostile_recording_never_writes_its_escapes_to_the_terminal(tmp_path: Path) -> None:
    """Title, clipboard and clear-screen sequences in a trace reach the pty only as text."""
    import json

    evil = "\x1b]0;pwned\x07\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2J"
    spans = [
        {"ph": "X", "name": f"call{evil}", "pid": 1, "tid": 1, "ts": task * 1000.0,
         "dur": 900.0, "args": {"task": task, "input": evil, "result": evil, "error": None}}
        for task in range(4)
    ]  # fmt: skip
    path = tmp_path / "evil.json"
    path.write_text(
        json.dumps({"traceEvents": spans, "metadata": {"note": [evil, evil], "concviz": {}}})
    )
    term = Terminal("replay", str(path), "--static")
    try:
        term.wait_for(lambda s: "finished" in s)
        term.press("down")  # a task's details: its input and result
        term.pump(0.5)
        assert b"\x1b]0;pwned" not in term.raw and b"\x1b]52;" not in term.raw
        assert "\\x1b]0;pwned" in term.text(), "shown, as text"
    finally:
        term.close()
