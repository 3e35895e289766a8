"""Event channel throughput: tasks' records per second the parent drains from 2 busy producers.

One event per task (TASK_DONE: its start and its end, CPU time, status, result).

concviz path: 2 worker processes emit through the probe's Sink into their own shared-memory
rings; a supervisor's Pump reads the rings and forwards the raw records over one
multiprocessing Queue to the parent, which decodes them into event tuples. Baseline: the same producers
calling Queue.put once per event on one shared Queue. Target: >= 1,000,000 events/s.

    python bench/event_channel.py [--events 1000000] [--baseline-events 200000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workloads import events, probe, ring  # noqa: E402
from workloads.supervisor import Pump  # noqa: E402


def produce_batched(address: str, count: int, start: float) -> None:
    sink = probe.Sink(address)
    while time.time() < start:
        time.sleep(0.001)
    done = sink.ring.done  # the probe's own path: one record per task, its start and end
    ok = events.OK
    for task in range(count):  # distinct events, as real tasks produce
        done(task, 1234, 123456789 + task, 123456999 + task, 1000 + task, ok, str(task), 0, -1, -1)
    sink.close()


def supervise(out: multiprocessing.queues.Queue, per_worker: int, workers: int) -> None:
    folder = tempfile.mkdtemp()
    address = str(Path(folder, "events.sock"))
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(address)
    server.listen(16)
    pump = Pump(server, out.put)
    pump.start()
    ctx = multiprocessing.get_context("spawn")
    start = time.time() + 1.0  # both producers begin together
    procs = [
        ctx.Process(target=produce_batched, args=(address, per_worker, start))
        for _ in range(workers)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    pump.finish(timeout=5)
    server.close()
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(ring.ring_folder(folder), ignore_errors=True)  # the rings' own folder
    out.put("done")
    out.close()
    out.join_thread()


def produce_direct(out: multiprocessing.queues.Queue, count: int, start: float) -> None:
    while time.time() < start:
        time.sleep(0.001)
    done = events.task_done
    for task in range(count):
        out.put(
            done(
                task, 1, 1234, 123456789 + task, 123456999 + task, 1000, events.OK, str(task), None
            )
        )
    out.put("done")
    out.close()
    out.join_thread()


def drain(out: multiprocessing.queues.Queue, producers_done: int) -> tuple[int, float]:
    """Events drained, and the time from the first item to the last task event."""
    count = 0
    first = None
    last = 0.0
    done = 0
    while done < producers_done:
        item = out.get()
        if first is None:
            first = time.perf_counter()
        if item == "done":
            done += 1
        else:
            if isinstance(item, bytes):  # a worker's ring records, as the parent decodes them
                batch = ring.decode(item)
            elif isinstance(item, list):
                batch = item
            else:
                batch = [item]
            tasks = sum(1 for event in batch if event[0] == events.TASK_DONE)
            if tasks:
                count += tasks
                last = time.perf_counter()
    assert first is not None
    return count, last - first


def run_batched(total: int) -> float:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=supervise, args=(out, total // 2, 2))
    proc.start()
    count, seconds = drain(out, 1)
    proc.join()
    assert count == total, (count, total)
    return count / seconds


def run_direct(total: int) -> float:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start = time.time() + 1.0
    procs = [ctx.Process(target=produce_direct, args=(out, total // 2, start)) for _ in range(2)]
    for proc in procs:
        proc.start()
    count, seconds = drain(out, 2)
    for proc in procs:
        proc.join()
    assert count == total, (count, total)
    return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--baseline-events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for round_ in range(args.rounds):
        batched = run_batched(args.events)
        direct = run_direct(args.baseline_events)
        print(
            f"round {round_ + 1}: ring→pump→Queue {batched:,.0f} events/s · "
            f"one Queue.put per event {direct:,.0f} events/s · ×{batched / direct:.1f}"
        )


if __name__ == "__main__":
    main()
