"""Start-up time, terminal traffic and idle CPU of the dashboard in a real pseudo-terminal at 120×40.

Start-up: from launching `concviz` to the first frame on screen (the timeline pane drawn),
median of 5 launches. Target <= 1 s.
Short run: bytes written to the terminal per second from pressing r to "finished"
(sum-squares on process-pool, 60 tasks, a few seconds). Target <= 20 KB/s.
Long run and idle, side by side in each round (medians of the rounds):
- idle: the dashboard up, nothing running, for 20 s: the app process's CPU time (psutil,
  user + system) over wall time, and the bytes it writes. Target <= 1 % of a core.
- live: a long run (sum-squares, process-pool, 600 tasks) measured for 20 s once its workers
  are busy, then cancelled: bytes per second and the app process's CPU. Target <= 8 KB/s.

    python bench/terminal.py [--rounds N] [--no-startup] [--no-short] [--fps F]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pty_terminal import Terminal  # noqa: E402

WINDOW = 20.0  # seconds measured, idle and live


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


def short_run() -> tuple[float, float]:
    term = Terminal("-w", "sum-squares", "-b", "process-pool", "--tasks", "60")
    wait_for_text(term, "Press r to run")
    term.pump(1.0)
    before = term.bytes
    started = time.perf_counter()
    term.press("r")
    wait_for_text(term, "finished", timeout=120)
    seconds = time.perf_counter() - started
    live = (term.bytes - before) / seconds
    term.close()
    return live, seconds


def measured(term: Terminal, seconds: float) -> tuple[float, float]:
    """Bytes per second written and the app's CPU (% of one core) over ``seconds``."""
    proc = psutil.Process(term.proc.pid)
    cpu_before = sum(proc.cpu_times()[:2])
    bytes_before = term.bytes
    started = time.perf_counter()
    term.pump(seconds)
    wall = time.perf_counter() - started
    cpu = (sum(proc.cpu_times()[:2]) - cpu_before) / wall * 100
    return (term.bytes - bytes_before) / wall, cpu


def idle_and_live(fps: str | None) -> tuple[float, float, float, float]:
    """(idle B/s, idle CPU %, live B/s, live CPU %) of one dashboard."""
    extra = ("--fps", fps) if fps else ()
    term = Terminal("-w", "sum-squares", "-b", "process-pool", "--tasks", "600", *extra)
    try:
        wait_for_text(term, "Press r to run")
        term.pump(2.0)  # the first paints and the first readings are over
        idle_bytes, idle_cpu = measured(term, WINDOW)
        term.press("r")
        wait_for_text(term, "running process-pool", timeout=60)
        term.pump(3.0)  # workers up, lanes drawn
        live_bytes, live_cpu = measured(term, WINDOW)
        if "finished" in term.text():
            raise AssertionError("the run ended inside the window: make it longer")
        term.press("x")
        term.pump(1.0)
    finally:
        term.close()
    return idle_bytes, idle_cpu, live_bytes, live_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-startup", action="store_true")
    parser.add_argument("--no-short", action="store_true")
    parser.add_argument("--fps", help="the dashboard's --fps (default: its own)")
    args = parser.parse_args()
    if not args.no_startup:
        times = [startup() for _ in range(5)]
        print(
            f"start-up to first frame: median {statistics.median(times):.2f} s"
            f" (min {min(times):.2f}, max {max(times):.2f})"
        )
    if not args.no_short:
        live, seconds = short_run()
        print(f"terminal traffic during a {seconds:.1f} s run of 60 tasks: {live / 1000:.1f} KB/s")
    rounds = []
    for number in range(1, args.rounds + 1):
        row = idle_and_live(args.fps)
        rounds.append(row)
        idle_bytes, idle_cpu, live_bytes, live_cpu = row
        print(
            f"round {number}: idle {idle_cpu:.2f} % CPU, {idle_bytes / 1000:.2f} KB/s;"
            f" live (600 tasks) {live_bytes / 1000:.2f} KB/s, {live_cpu:.1f} % CPU",
            flush=True,
        )
    if rounds:
        idle_bytes, idle_cpu, live_bytes, live_cpu = (
            statistics.median(column) for column in zip(*rounds, strict=True)
        )
        print(
            f"median of {len(rounds)}: idle {idle_cpu:.2f} % CPU, {idle_bytes / 1000:.2f} KB/s;"
            f" live {live_bytes / 1000:.2f} KB/s, {live_cpu:.1f} % CPU"
        )


if __name__ == "__main__":
    main()
