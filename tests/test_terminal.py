"""End to end in a real pseudo-terminal: start concviz, press keys, read the screen."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable

import psutil
import pyte
import pytest

from tests.conftest import ROOT

COLS, ROWS = 120, 40


class Terminal:
    """concviz on a pty, its screen kept by a pyte emulator."""

    def __init__(self, *args: str, cols: int = COLS, rows: int = ROWS, **env_extra: str) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows))
        env.update(env_extra)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)

    def pump(self, seconds: float = 0.1) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    return
                self.stream.feed(data)

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, check: Callable[[str], bool], timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.pump(0.1)
            if check(self.text()):
                return self.text()
        raise AssertionError("screen never matched:\n" + self.text())

    def press(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        os.close(self.master)


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
    time.sleep(0.2)
    alive = [
        pid
        for pid in workers
        if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    ]
    assert not alive, f"left behind: {alive}"


def test_sighup_ends_the_dashboard_and_its_run(terminal: Terminal) -> None:
    terminal.wait_for(lambda s: "timeline" in s)
    terminal.press("r")
    terminal.wait_for(lambda s: "p1 " in s or "proc 1 ·" in s)
    workers = {p.pid for p in descendants(terminal.proc.pid)}
    started = time.monotonic()
    terminal.proc.send_signal(signal.SIGHUP)
    terminal.proc.wait(10)
    assert time.monotonic() - started < 5
    time.sleep(0.2)
    alive = [
        pid
        for pid in workers
        if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    ]
    assert not alive, f"left behind: {alive}"


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
    terminal.wait_for(lambda s: "timeline" in s)
    terminal.press("r")
    terminal.wait_for(lambda s: "p1 " in s or "proc 1 ·" in s)
    workers = {p.pid for p in descendants(terminal.proc.pid)}
    os.close(terminal.master)  # the terminal emulator (or the SSH connection) is gone
    terminal.master = os.open(os.devnull, os.O_RDONLY)  # for close() in the fixture
    terminal.proc.wait(10)
    time.sleep(0.2)
    alive = [
        pid
        for pid in workers
        if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    ]
    assert not alive, f"left behind: {alive}"


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
