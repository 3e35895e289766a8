"""A real pseudo-terminal running concviz, its screen kept by a pyte emulator (tests, bench)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pyte

ROOT = Path(__file__).resolve().parent.parent
COLS, ROWS = 120, 40


class Terminal:
    """``python -m tui.cli ARGS`` on a pty of ``cols`` × ``rows``; counts the bytes it writes."""

    def __init__(self, *args: str, cols: int = COLS, rows: int = ROWS, **env_extra: str) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows))
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        env.update(env_extra)
        self.started = time.perf_counter()
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
        self.bytes = 0
        self.raw = bytearray()  # everything the app wrote, escape sequences and all

    def pump(self, seconds: float = 0.1) -> None:
        """Read (and draw) what the app writes for ``seconds``."""
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    return
                self.bytes += len(data)
                self.raw += data
                self.stream.feed(data)

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, check: Callable[[str], bool], timeout: float = 30) -> str:
        """Pump until ``check(screen text)`` holds; fails with the screen if it never does."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            self.pump(0.05)
            if check(self.text()):
                return self.text()
        raise AssertionError("screen never matched:\n" + self.text())

    def wait_exit(self, timeout: float = 10) -> int:
        """The app's exit code, reading its output meanwhile: a terminal that nobody reads
        fills up, and the app's last frames would block it from exiting."""
        deadline = time.perf_counter() + timeout
        while self.proc.poll() is None:
            if time.perf_counter() > deadline:
                raise subprocess.TimeoutExpired(self.proc.args, timeout)
            self.pump(0.05)
        return self.proc.returncode

    def press(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> None:
        """Quit if still running (q, then a kill), and release the pty."""
        if self.proc.poll() is None:
            try:
                self.press("q")
                self.wait_exit(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)
        os.close(self.master)
