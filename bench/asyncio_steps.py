"""What timing each step of a coroutine costs: the probe's stepper (a ``send``/``throw`` per
step with a CPU clock read around it) against the coroutine awaited bare, on coroutines that
do nothing but yield (``asyncio.sleep(0)``), side by side in rounds. Prints µs per step.

    python bench/asyncio_steps.py [--rounds 5] [--steps 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workloads.probe import _Stepper  # noqa: E402


async def yields(steps: int) -> int:
    for _ in range(steps):
        await asyncio.sleep(0)
    return steps


async def bare(steps: int) -> float:
    begin = time.perf_counter()
    await yields(steps)
    return time.perf_counter() - begin


async def stepped(steps: int) -> float:
    begin = time.perf_counter()
    await _Stepper(yields(steps))
    return time.perf_counter() - begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20_000)
    args = parser.parse_args()
    plain, timed = [], []
    for _ in range(args.rounds):
        plain.append(asyncio.run(bare(args.steps)) / args.steps * 1e6)
        timed.append(asyncio.run(stepped(args.steps)) / args.steps * 1e6)
    p, t = statistics.median(plain), statistics.median(timed)
    print(
        f"a step awaited bare: {p:.2f} µs · through the stepper: {t:.2f} µs · adds {t - p:.2f} µs"
    )


if __name__ == "__main__":
    main()
