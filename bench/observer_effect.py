"""Observer effect: a ProcessPoolExecutor.map of 2,000 × 1 ms tasks, with and without concviz.

Each pair runs the same executor twice, in fresh processes, one after the other (the order
alternates): once as a plain script, once as `concviz run --target busy.py:busy_ms`. Both time
the same span: executor created → results in → executor shut down. Prints the ratios and
their median; target: median <= 1.02.

    python bench/observer_effect.py [--pairs 7] [--tasks 2000] [--start-method fork]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

PLAIN = """
import concurrent.futures as cf, multiprocessing, sys, time
sys.path.insert(0, {here!r})
from busy import busy_ms
if __name__ == "__main__":
    ctx = multiprocessing.get_context({method!r})
    inputs = [1.0] * {tasks}
    begin = time.perf_counter_ns()
    with cf.ProcessPoolExecutor(max_workers={workers}, mp_context=ctx) as ex:
        results = list(ex.map(busy_ms, inputs))
    end = time.perf_counter_ns()
    print((end - begin) / 1e9)
"""


def plain(tasks: int, workers: int, method: str) -> float:
    code = PLAIN.format(here=str(HERE), tasks=tasks, workers=workers, method=method)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def probed(tasks: int, workers: int, method: str) -> float:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui.cli",
            "run",
            "--target",
            f"{HERE / 'busy.py'}:busy_ms",
            "--inputs",
            json.dumps([1.0] * tasks),
            "--backend",
            "process-pool",
            "--workers",
            str(workers),
            "--start-method",
            method,
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=HERE.parent,
    )
    data = json.loads(out.stdout)
    assert data["ok"] == tasks, data
    return float(data["wall_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--start-method", default="fork")
    args = parser.parse_args()
    ratios = []
    for pair in range(args.pairs):
        runs = [("plain", plain), ("probed", probed)]
        if pair % 2:
            runs.reverse()
        walls = {}
        for name, fn in runs:
            walls[name] = fn(args.tasks, args.workers, args.start_method)
            time.sleep(0.2)
        ratio = walls["probed"] / walls["plain"]
        ratios.append(ratio)
        print(
            f"pair {pair + 1}: plain {walls['plain']:.3f} s  probed {walls['probed']:.3f} s  ratio {ratio:.3f}"
        )
    print(
        f"median ratio {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})"
    )


if __name__ == "__main__":
    main()
