"""What a run-queue reading costs: one ``os.pread`` of ``/proc/thread-self/schedstat`` from a
kept descriptor (and its parsing), beside one CPU clock read (``time.thread_time_ns``), the
reading every task already pays. Measured side by side in rounds; prints medians in µs.

    python bench/schedstat.py [--rounds 5] [--reads 200000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def per_read_us(function: object, reads: int) -> float:
    call = function  # type: ignore[assignment]
    begin = time.perf_counter()
    for _ in range(reads):
        call()  # type: ignore[operator]
    return (time.perf_counter() - begin) / reads * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reads", type=int, default=200_000)
    args = parser.parse_args()
    fd = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
    pread = os.pread

    def runqueue() -> int:
        return int(pread(fd, 128, 0).split()[1])

    clock, queue = [], []
    for _ in range(args.rounds):
        clock.append(per_read_us(time.thread_time_ns, args.reads))
        queue.append(per_read_us(runqueue, args.reads))
    c, q = statistics.median(clock), statistics.median(queue)
    print(f"thread_time_ns: {c:.2f} µs · schedstat pread + parse: {q:.2f} µs · ratio ×{q / c:.1f}")


if __name__ == "__main__":
    main()
