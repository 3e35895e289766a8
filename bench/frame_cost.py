"""Timeline frame cost at 120 columns with 1k, 10k, 100k and 1M recorded tasks.

Builds a finished run of N back-to-back tasks over 2 process lanes, opens the dashboard on it
at 120×40 (headless) and times the timeline's own drawing: every visible line through
build_lines, every strip of a frame (what a repaint of the whole widget costs). Target: flat, under 10 ms per frame at 1M.
Also the summary pane's frame with its breakdown bar, and the breakdown itself, computed once
when a run ends (never per frame).

    python bench/frame_cost.py [--sizes 1000,10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui.app import ConcvizApp  # noqa: E402
from tui.choices import Choices  # noqa: E402
from tui.sampler import FixedSampler  # noqa: E402
from workloads import events  # noqa: E402
from workloads.breakdown import breakdown  # noqa: E402
from workloads.trace import Trace  # noqa: E402

US = 1000


def big_trace(tasks: int) -> Trace:
    trace = Trace()
    trace.ingest([events.run_started(0, {"tasks": tasks, "lane_kind": "proc"})])
    batch: list[events.Event] = []
    clock = {4711: 0, 4712: 0}
    for task in range(tasks):
        pid = 4711 + task % 2
        start = clock[pid] + 5 * US
        end = start + (900 + (task * 37) % 200) * US
        clock[pid] = end
        batch.append(events.task_started(task, pid, pid, start))
        batch.append(
            events.task_finished(task, pid, pid, end, (end - start) * 9 // 10, events.OK, "1", None)
        )
        if len(batch) >= 100_000:
            trace.ingest(batch)
            batch = []
    end_ns = max(clock.values()) + US
    batch.append(events.run_finished(end_ns, 0, end_ns, {"workers": 2}))
    trace.ingest(batch)
    return trace


async def measure(tasks: int, frames: int = 30) -> tuple[float, float, float]:
    trace = big_trace(tasks)
    started = time.perf_counter()
    breakdown(trace)
    once = (time.perf_counter() - started) * 1000
    app = ConcvizApp(
        Choices(workers=2), sampler=FixedSampler([50.0, 50.0]), trace=trace, sample_interval=3600
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        timeline = app.timeline
        height = timeline.size.height
        timings = []
        for frame in range(frames):
            # Alternate zoom levels so no frame is served from a cache.
            timeline.window = None if frame % 2 == 0 else timeline.current_window()
            started = time.perf_counter()
            timeline.build_lines(timeline.size.width, height)
            timings.append((time.perf_counter() - started) * 1000)
        summary = []
        for _ in range(frames):
            app.summary._shown = None  # drawn anew, as after any change
            started = time.perf_counter()
            app._refresh_summary()
            summary.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), statistics.median(summary), once


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        ms, summary, once = asyncio.run(measure(size))
        print(
            f"{size:>9,} tasks: {ms:6.2f} ms per timeline frame, {summary:5.2f} ms per summary"
            f" frame with its breakdown bar (medians of 30); breakdown once {once:7.1f} ms"
        )


if __name__ == "__main__":
    main()
