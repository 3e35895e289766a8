"""Start-up time and terminal traffic of the dashboard in a real pseudo-terminal at 120×40.

Start-up: from launching `concviz` to the first frame on screen (the timeline pane drawn),
median of 5 launches. Target <= 1 s.
Traffic: bytes written to the terminal per second while a run is live (sum-squares on
process-pool, 60 tasks, a few seconds), and while idle. Target <= 20 KB/s during a run.

    python bench/terminal.py
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pyte

ROOT = Path(__file__).resolve().parent.parent
COLS, ROWS = 120, 40


class Terminal:
    def __init__(self, *args: str) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        env = dict(os.environ, TERM="xterm-256color", PYTHONPATH=str(ROOT))
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
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.bytes = 0

    def pump(self, seconds: float) -> None:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    return
                self.bytes += len(data)
                self.stream.feed(data)

    def wait_for(self, text: str, timeout: float = 60) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            self.pump(0.02)
            if text in "\n".join(self.screen.display):
                return time.perf_counter()
        raise RuntimeError(f"never saw {text!r}")

    def close(self) -> None:
        os.write(self.master, b"q")
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def startup() -> float:
    term = Terminal()
    seen = term.wait_for("timeline")
    elapsed = seen - term.started
    term.pump(0.3)
    term.close()
    return elapsed


def traffic() -> tuple[float, float, float]:
    term = Terminal("-w", "sum-squares", "-b", "process-pool", "--tasks", "60")
    term.wait_for("Press r to run")
    term.pump(1.0)
    before = term.bytes
    idle_start = time.perf_counter()
    term.pump(3.0)
    idle = (term.bytes - before) / (time.perf_counter() - idle_start)
    before = term.bytes
    started = time.perf_counter()
    os.write(term.master, b"r")
    term.wait_for("finished", timeout=120)
    seconds = time.perf_counter() - started
    live = (term.bytes - before) / seconds
    term.close()
    return live, idle, seconds


def main() -> None:
    times = [startup() for _ in range(5)]
    print(
        f"start-up to first frame: median {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f})"
    )
    live, idle, seconds = traffic()
    print(
        f"terminal traffic during a {seconds:.1f} s run: {live / 1000:.1f} KB/s; idle: {idle / 1000:.1f} KB/s"
    )


if __name__ == "__main__":
    main()
