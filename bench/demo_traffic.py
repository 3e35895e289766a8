"""Bytes per second written to the terminal during `concviz demo` at 120×40 (target <= 20 KB/s).

Runs the whole demo in a pseudo-terminal read by a terminal emulator and divides the bytes
written by its duration.

    python bench/demo_traffic.py [--fps 8]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.pty_terminal import Terminal  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fps", default="8")
    args = parser.parse_args()
    term = Terminal("demo", "--fps", args.fps)
    started = time.perf_counter()
    while term.proc.poll() is None and time.perf_counter() - started < 600:
        term.pump(0.2)
    seconds = time.perf_counter() - started
    term.close()
    print(
        f"demo at --fps {args.fps}: {term.bytes / 1000:.0f} KB in {seconds:.1f} s = {term.bytes / seconds / 1000:.1f} KB/s"
    )


if __name__ == "__main__":
    main()
