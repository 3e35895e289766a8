"""Tiny tasks: what observing each task costs when tasks are microseconds long and many.

Runs the `double` workload (``i * 2, os.getpid()``) as a bare script and under
``concviz run``, side by side, alternating the order, and prints one table:

- 200,000 tasks on sequential, process-pool (chunksize 1000, fork) and thread-pool (2
  workers): the bare script's wall, concviz's reported wall (the same span: executor created
  to shut down), their ratio, and observation per task = (concviz wall - bare wall) / tasks;
- 1,000,000 tasks on mp-pool (chunksize 1000): bare wall, concviz wall, the whole command's
  time, and the peak memory of concviz's process tree (the sum over its processes, sampled
  every 20 ms with psutil) and of its largest process (``getrusage`` maxrss).

Medians of ``--repeat`` pairs (the machine is shared: compare numbers measured together).
Targets: observation <= 1.5 µs per task on sequential; <= 150 MB for the 1M-task tree.

    python bench/tiny_tasks.py [--repeat 3] [--tasks 200000] [--big 1000000] [--skip-big]
    python bench/tiny_tasks.py --tasks 0 --big-repeat 1   # the 1M-task run alone
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent

BARE = """
import concurrent.futures as cf, multiprocessing, multiprocessing.pool, sys, time
sys.path.insert(0, {root!r})
from workloads.tasks import double
if __name__ == "__main__":
    n, backend = {tasks}, {backend!r}
    inputs = list(range(n))
    begin = time.perf_counter_ns()
    if backend == "sequential":
        results = [double(i) for i in inputs]
    elif backend == "thread-pool":
        with cf.ThreadPoolExecutor(max_workers=2) as ex:
            results = list(ex.map(double, inputs))
    elif backend == "process-pool":
        ctx = multiprocessing.get_context("fork")
        with cf.ProcessPoolExecutor(max_workers=2, mp_context=ctx) as ex:
            results = list(ex.map(double, inputs, chunksize=1000))
    else:
        with multiprocessing.pool.Pool(2) as pool:
            results = pool.map(double, inputs, 1000)
    end = time.perf_counter_ns()
    assert len(results) == n
    print((end - begin) / 1e9)
"""

# Runs one command and reports the largest resident set any of its descendants reached.
MAXRSS = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
sys.stdout.write(done.stdout.decode(errors="replace"))
print("\\nMAXRSS_KB", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.returncode)
"""

CONCVIZ = {
    "sequential": ["-b", "sequential"],
    "process-pool": ["-b", "process-pool", "--start-method", "fork", "--chunksize", "1000"],
    "thread-pool": ["-b", "thread-pool", "--workers", "2"],
    "mp-pool": ["-b", "mp-pool", "--chunksize", "1000", "--workers", "2"],
}


class TreeMemory:
    """Samples the summed RSS of a process and its descendants until stopped."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                procs = []
            for proc in procs:
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
            self.peak = max(self.peak, total)
            self._stop.wait(0.02)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def bare(backend: str, tasks: int) -> tuple[float, int]:
    """The bare script's wall time and its tree's peak RSS."""
    code = BARE.format(root=str(ROOT), tasks=tasks, backend=backend)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    memory = TreeMemory(proc.pid)
    out, _ = proc.communicate()
    peak = memory.stop()
    if proc.returncode:
        raise SystemExit(f"bare {backend} failed")
    return float(out.strip()), peak


def concviz(backend: str, tasks: int) -> dict[str, float]:
    """concviz's reported wall, the whole command's time, tree and largest-process peaks."""
    argv = [sys.executable, "-m", "tui.cli", "run", "-w", "double", "--tasks", str(tasks)]
    argv += CONCVIZ[backend]
    begin = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", MAXRSS, *argv], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    memory = TreeMemory(proc.pid)
    out, _ = proc.communicate()
    whole = time.perf_counter() - begin
    peak = memory.stop()
    wall = re.search(r"wall ([0-9.]+) s · (\d+)/(\d+) ok", out)
    largest = re.search(r"MAXRSS_KB (\d+) (-?\d+)", out)
    if wall is None or largest is None or wall.group(2) != str(tasks):
        raise SystemExit(f"concviz {backend} did not finish every task:\n{out[-2000:]}")
    # The wrapper itself (a small Python) is in the tree; it is not concviz's.
    return {
        "wall": float(wall.group(1)),
        "whole": whole,
        "tree_mb": peak / 1e6,
        "largest_mb": int(largest.group(1)) / 1e3,
    }


def measure(backend: str, tasks: int, repeat: int) -> dict[str, float]:
    rows: list[dict[str, float]] = []
    for i in range(repeat):
        row: dict[str, float] = {}
        order = ["bare", "concviz"] if i % 2 == 0 else ["concviz", "bare"]
        for which in order:
            if which == "bare":
                row["bare"], row["bare_tree_mb"] = bare(backend, tasks)
                row["bare_tree_mb"] /= 1e6
            else:
                row.update(concviz(backend, tasks))
            time.sleep(0.2)
        row["ratio"] = row["wall"] / row["bare"]
        row["per_task_us"] = (row["wall"] - row["bare"]) / tasks * 1e6
        print(f"  {backend} pass {i + 1}: " + json.dumps({k: round(v, 4) for k, v in row.items()}))
        rows.append(row)
    return {key: statistics.median(row[key] for row in rows) for key in rows[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=200_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--big-repeat", type=int, default=2)
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--backends", default="sequential,process-pool,thread-pool")
    args = parser.parse_args()
    small = {
        backend: measure(backend, args.tasks, args.repeat)
        for backend in args.backends.split(",")
        if args.tasks > 0  # --tasks 0: the big run alone
    }
    big = None if args.skip_big else measure("mp-pool", args.big, args.big_repeat)
    print()
    print(f"{args.tasks:,} double tasks, medians of {args.repeat}")
    print("| backend | bare s | concviz wall s | ratio | observation µs/task |")
    print("| --- | --- | --- | --- | --- |")
    labels = {
        "sequential": "sequential",
        "process-pool": "process-pool, chunksize 1000, fork",
        "thread-pool": "thread-pool, 2 workers",
    }
    for backend, row in small.items():
        print(
            f"| {labels[backend]} | {row['bare']:.3f} | {row['wall']:.3f} | "
            f"×{row['ratio']:.1f} | {row['per_task_us']:.2f} |"
        )
    if big is not None:
        print()
        print(f"{args.big:,} double tasks on mp-pool, chunksize 1000, medians of {args.big_repeat}")
        print(
            "| bare s | concviz wall s | whole command s | peak RSS, tree | "
            "peak RSS, largest process | bare script's tree |"
        )
        print("| --- | --- | --- | --- | --- | --- |")
        print(
            f"| {big['bare']:.3f} | {big['wall']:.3f} | {big['whole']:.2f} | "
            f"{big['tree_mb']:.0f} MB | {big['largest_mb']:.0f} MB | {big['bare_tree_mb']:.0f} MB |"
        )


if __name__ == "__main__":
    main()
