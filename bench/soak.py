"""Hygiene over time: 200 short runs in one dashboard session.

Drives the real app (headless, 120×40) through 200 runs of a tiny workload, cycling backends
and start methods, and records the parent's open file descriptors, resident memory, threads
and child processes (alive and zombie) every 20 runs. Every fifth run is a hostile one: a
task that leaves a forked child or a daemon behind (the run must end them and name them), or
a worker that exits with status 0 mid-task (the run must end as crashed). After every run no
process of it may be left anywhere, nor anything in /dev/shm. Target: flat, no zombies.

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

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ROOT / "tests" / "sample_targets.py"
HOSTILE = [  # (function, backend, what the run must end as)
    ("leave_fork", "process-pool", "finished"),
    ("exit_zero", "mp-pool", "crashed"),
    ("leave_daemon", "processes", "finished"),
    ("exit_zero", "processes", "crashed"),
]

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


def marked_processes() -> list[int]:
    """Processes anywhere that belong to a concviz run (they carry its mark)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if "CONCVIZ_RUN" in proc.environ() and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


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
        has_shm = os.path.isdir("/dev/shm")
        shm_before = set(os.listdir("/dev/shm")) if has_shm else set()
        for run in range(1, runs + 1):
            backend, method = COMBOS[run % len(COMBOS)]
            expected = "finished"
            app.choices = Choices(
                workload="double",
                tasks=4,
                workers=2,
                backend=backend,
                start_method=method if method in methods else None,
            )
            if run % 5 == 0:
                function, backend, expected = HOSTILE[(run // 5) % len(HOSTILE)]
                app.choices = Choices(
                    workload="target",
                    target=f"{TARGETS}:{function}",
                    inputs="[0, 1, 2]",
                    workers=2,
                    backend=backend,
                    stall_timeout=0,  # a lost task must be found, not waited out
                )
            await pilot.press("r")
            ended = await app.run_ended()
            if ended != expected:
                raise SystemExit(f"run {run} ended {ended}, not {expected}")
            left = marked_processes()
            if left:
                raise SystemExit(f"run {run} left processes behind: {left}")
            shm = set(os.listdir("/dev/shm")) - shm_before if has_shm else set()
            if shm:
                raise SystemExit(f"run {run} left in /dev/shm: {sorted(shm)}")
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
