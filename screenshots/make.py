"""Regenerates the screenshots in this folder from real runs of the dashboard.

    .venv/bin/python screenshots/make.py

Each picture is the app itself, driven by its keys, caught while a real run is under way, so
the CPU bars and lane percentages are real readings of this machine.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tui.app import ConcvizApp  # noqa: E402
from tui.choices import Choices  # noqa: E402
from tui.screens.compare import CompareScreen  # noqa: E402

SIZE = (120, 40)


async def _until(pilot, check, timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        await pilot.pause(0.05)


def _progress(app: ConcvizApp) -> float:
    trace = app.trace
    if trace is None or not trace.count:
        return 0.0
    stats = trace.stats()
    return (stats.ok + stats.errors) / trace.count


async def live_run(name: str, choices: Choices, at: float = 0.6) -> None:
    """Start a run with r and take the picture when ``at`` of its tasks are done."""
    app = ConcvizApp(choices)
    app.theme = "textual-dark"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)  # the CPU sampler's first reading
        await pilot.press("r")
        await _until(pilot, lambda: _progress(app) >= at)
        await pilot.pause(0.15)
        app.save_screenshot(f"{name}.svg", str(HERE))
        await _until(pilot, lambda: not app.running)
    print(f"screenshots/{name}.svg")


async def compare_view() -> None:
    app = ConcvizApp(Choices(workload="sum-squares", tasks=8, params=(("size", 1_500_000),)))
    app.theme = "textual-dark"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await _until(pilot, lambda: len(screen.results) >= len(screen.order), timeout=300)
        await pilot.pause(0.2)
        app.save_screenshot("compare.svg", str(HERE))
    print("screenshots/compare.svg")


async def main() -> None:
    cpu = Choices(workload="sum-squares", tasks=16, params=(("size", 2_000_000),))
    await live_run("sum-squares-process-pool", cpu)
    await live_run(
        "sum-squares-threads",
        Choices(workload="sum-squares", backend="threads", tasks=16, params=(("size", 2_000_000),)),
    )
    await live_run(
        "sleep-thread-pool",
        Choices(workload="sleep", backend="thread-pool", workers=4, tasks=12, mode="as-completed"),
    )
    await compare_view()


if __name__ == "__main__":
    asyncio.run(main())
