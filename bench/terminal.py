"""Start-up time and terminal traffic of the dashboard in a real pseudo-terminal at 120×40.

Start-up: from launching `concviz` to the first frame on screen (the timeline pane drawn),
median of 5 launches. Target <= 1 s.
Traffic: bytes written to the terminal per second while a run is live (sum-squares on
process-pool, 60 tasks, a few seconds), and while idle. Target <= 20 KB/s during a run.

    python bench/terminal.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pty_terminal import Terminal  # noqa: E402


def wait_for_text(term: Terminal, text: str, timeout: float = 60) -> float:
    term.wait_for(lambda screen: text in screen, timeout)
    return time.perf_counter()


def startup() -> float:
    term = Terminal()
    seen = wait_for_text(term, "timeline")
    elapsed = seen - term.started
    term.pump(0.3)
    term.close()
    return elapsed


def traffic() -> tuple[float, float, float]:
    term = Terminal("-w", "sum-squares", "-b", "process-pool", "--tasks", "60")
    wait_for_text(term, "Press r to run")
    term.pump(1.0)
    before = term.bytes
    idle_start = time.perf_counter()
    term.pump(3.0)
    idle = (term.bytes - before) / (time.perf_counter() - idle_start)
    before = term.bytes
    started = time.perf_counter()
    os.write(term.master, b"r")
    wait_for_text(term, "finished", timeout=120)
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
