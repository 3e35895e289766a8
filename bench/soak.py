"""Hygiene over time: 200 short runs in one dashboard session.

Drives the real app (headless, 120×40) through 200 runs of a tiny workload, cycling backends
and start methods, and records the parent's open file descriptors, resident memory, threads
and child processes (alive and zombie) every 20 runs. Target: flat, no zombies.

    python bench/soak.py [--runs 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui.app import ConcvizApp  # noqa: E402
from tui.choices import Choices  # noqa: E402
from workloads import pyinfo  # noqa: E402

COMBOS = [
    ("thread-pool", None),
    ("mp-pool", "fork"),
    ("process-pool", "spawn"),
    ("processes", "forkserver"),
    ("threads", None),
]


def snapshot() -> tuple[int, float, int, int, int]:
    me = psutil.Process()
    children = me.children(recursive=True)
    zombies = sum(1 for c in children if c.status() == psutil.STATUS_ZOMBIE)
    return (
        len(os.listdir("/proc/self/fd")),
        me.memory_info().rss / 2**20,
        me.num_threads(),
        len(children),
        zombies,
    )


async def soak(runs: int) -> None:
    methods = set(pyinfo.available_start_methods())
    app = ConcvizApp(Choices(workload="double", tasks=4, workers=2))
    started = time.monotonic()
    async with app.run_test(size=(120, 40)) as pilot:
        print(
            f"{'runs':>5} {'fds':>5} {'rss MiB':>8} {'threads':>8} {'children':>9} {'zombies':>8}"
        )
        fds, rss, threads, children, zombies = snapshot()
        print(f"{0:>5} {fds:>5} {rss:>8.1f} {threads:>8} {children:>9} {zombies:>8}")
        for run in range(1, runs + 1):
            backend, method = COMBOS[run % len(COMBOS)]
            app.choices = Choices(
                workload="double",
                tasks=4,
                workers=2,
                backend=backend,
                start_method=method if method in methods else None,
            )
            await pilot.press("r")
            while app.session is None or not app.session.done or app.status.startswith("running"):
                await pilot.pause(0.02)
            if not app.status.startswith("finished"):
                raise SystemExit(f"run {run} ended {app.status}")
            if run % 20 == 0:
                await pilot.pause(0.2)
                fds, rss, threads, children, zombies = snapshot()
                print(f"{run:>5} {fds:>5} {rss:>8.1f} {threads:>8} {children:>9} {zombies:>8}")
    print(f"{runs} runs in {time.monotonic() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(soak(args.runs))


if __name__ == "__main__":
    main()
