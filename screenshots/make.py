"""Regenerates the screenshots in this folder from the recorded runs in traces/.

    .venv/bin/python screenshots/make.py            # draw them from the recorded traces
                                                    # (recording those missing first)
    .venv/bin/python screenshots/make.py --record   # first record fresh runs on this machine

Drawing is reproducible: the app replays each recorded trace whole (its per-core CPU
readings included) and saves an SVG. Recording runs the real workloads with CPU sampling and
writes Chrome traces, the same files `concviz run --trace` writes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TRACES = HERE / "traces"
sys.path.insert(0, str(HERE.parent))

from tui.app import ConcvizApp  # noqa: E402
from tui.choices import Choices  # noqa: E402
from tui.screens.compare import CompareScreen  # noqa: E402
from workloads import compare as comparing  # noqa: E402
from workloads import events, session, tracker  # noqa: E402
from workloads.export import write_chrome_trace  # noqa: E402
from workloads.replay import load_recording  # noqa: E402
from workloads.spec import available_backends  # noqa: E402
from workloads.trace import Trace  # noqa: E402

SIZE = (120, 40)
CPU_WORK = Choices(workload="sum-squares", tasks=16, workers=2, params=(("size", 2_000_000),))
RUNS = {
    "sum-squares-process-pool": CPU_WORK,
    "sum-squares-threads": Choices(
        workload="sum-squares", backend="threads", tasks=16, params=(("size", 2_000_000),)
    ),
    "sleep-thread-pool": Choices(
        workload="sleep", backend="thread-pool", workers=4, tasks=12, mode="as-completed"
    ),
    # Coroutines on one loop: the sleeps overlap on one thread.
    "sleep-asyncio": Choices(workload="sleep", backend="asyncio", tasks=12, mode="as-completed"),
    # dask: a worker killed mid-run; its attempt is lost and the task runs again elsewhere.
    "sum-squares-dask": Choices(
        workload="sum-squares", backend="dask", workers=2, tasks=16, params=(("size", 2_000_000),)
    ),
    # "Why is my pool slow?": 2,000 tiny tasks handed over one by one.
    "double-process-pool": Choices(
        workload="double", backend="process-pool", workers=2, tasks=2000, chunksize=1
    ),
}
KILL_AT = {"sum-squares-dask": 6}  # SIGKILL the worker that starts this task


def _killer(from_task: int) -> Callable[[list[Any]], None]:
    """A listener that kills the worker process of the first task from ``from_task`` on."""
    killed: list[int] = []

    def kill(batch: list[Any]) -> None:
        for event in batch:
            if event[0] == events.TASK_STARTED and not killed and event[1] >= from_task:
                killed.append(event[2])
                os.kill(event[2], signal.SIGKILL)

    return kill


COMPARED = Choices(workload="sum-squares", tasks=8, workers=2, params=(("size", 1_500_000),))


def record(every: bool) -> None:
    """Run each picture's workload for real and keep its trace (``every``: also those
    already recorded)."""
    TRACES.mkdir(exist_ok=True)
    jobs = dict(RUNS)
    for backend in available_backends():
        jobs[f"compare-{backend}"] = COMPARED.with_backend(backend)
    for name, choices in jobs.items():
        if not every and (TRACES / f"{name}.json").exists():
            continue
        kill = _killer(KILL_AT[name]) if name in KILL_AT else None
        outcome = session.run(choices.to_spec(), listener=kill, sample_cpu=True)
        write_chrome_trace(outcome.trace, TRACES / f"{name}.json")
        print(f"recorded screenshots/traces/{name}.json ({outcome.status})")
    tracker.shutdown()


def _trace(name: str) -> Trace:
    trace = Trace()
    trace.ingest(load_recording(TRACES / f"{name}.json").events)
    return trace


async def draw(name: str, choices: Choices) -> None:
    app = ConcvizApp(choices, replay=load_recording(TRACES / f"{name}.json"), speed=0)
    app.theme = "textual-dark"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        app.save_screenshot(f"{name}.svg", str(HERE))
    print(f"screenshots/{name}.svg")


async def draw_compare() -> None:
    traces = {backend: _trace(f"compare-{backend}") for backend in available_backends()}
    baseline = comparing.Baseline.of(traces["sequential"], session.FINISHED)
    results = [
        comparing.result_of(
            backend,
            trace.info.get("spec", {}).get("start_method"),
            session.Outcome(session.FINISHED, trace, outside_cores=trace.outside_cores),
            baseline,
        )
        for backend, trace in traces.items()
    ]
    app = ConcvizApp(COMPARED)
    app.theme = "textual-dark"
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(CompareScreen(COMPARED.to_spec(), results=results))
        await pilot.pause(0.2)
        app.save_screenshot("compare.svg", str(HERE))
    print("screenshots/compare.svg")


async def draw_all() -> None:
    for name, choices in RUNS.items():
        await draw(name, choices)
    await draw_compare()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="record fresh traces first")
    args = parser.parse_args()
    record(every=args.record)  # without --record, only the traces not recorded yet
    asyncio.run(draw_all())


if __name__ == "__main__":
    main()
