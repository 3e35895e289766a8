"""Provides the demo: a scripted tour of the tutorial for recordings and classes.

Sum-squares sequentially, on threads and on a process pool; every backend side by side; sleeps
as coroutines on one asyncio loop; then the fork deadlock with fork and with spawn. A caption says what to watch. Each step waits for
its run to end, then holds the picture a fixed time, so a recording paces the same anywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from tui.choices import Choices
from workloads import pyinfo

if TYPE_CHECKING:
    from tui.app import ConcvizApp


@dataclass(frozen=True)
class Step:
    caption: str
    choices: Choices | None = None  # run these, or
    compare: bool = False  # race every backend on the current choices
    hold: float = 3.0  # seconds to leave the result on screen


def steps(fast: bool = False) -> list[Step]:
    """The tour; ``fast`` shrinks the work (tests)."""
    size = 200_000 if fast else 1_500_000
    tasks = 4 if fast else 12
    work = Choices(workload="sum-squares", tasks=tasks, params=(("size", size),), workers=2)
    fork = "fork" if "fork" in pyinfo.available_start_methods() else None
    deadlock = Choices(
        workload="fork-deadlock",
        backend="mp-pool",
        tasks=20 if fast else 60,
        stall_timeout=1.5 if fast else 2.5,
    )
    sleeps = Choices(
        workload="sleep", backend="asyncio", tasks=6 if fast else 12, params=(("scale", 0.05),)
    )
    tour = [
        Step(
            "1/7 · sum-squares, one task at a time: the sequential baseline.",
            replace(work, backend="sequential"),
        ),
        Step(
            "2/7 · The same on threads: bars stretch and shade, the CPU stays near one core — the GIL.",
            replace(work, backend="threads"),
        ),
        Step(
            "3/7 · On a process pool: every core computes; each process has its own GIL.",
            replace(work, backend="process-pool"),
        ),
        Step(
            "4/7 · Every backend side by side: wall time, speedup, CPU parallelism.", compare=True
        ),
        Step(
            "5/7 · asyncio: sleeps as coroutines overlap on ONE thread — each await lets the loop"
            " run another.",
            sleeps,
        ),
    ]
    if fork:
        tour.append(
            Step(
                "6/7 · fork-deadlock with fork: a child waits forever on a lock it inherited held.",
                replace(deadlock, start_method=fork),
                hold=4.0,
            )
        )
    tour.append(
        Step(
            "7/7 · The same with spawn: each child starts clean and the run completes.",
            replace(deadlock, start_method="spawn"),
            hold=4.0,
        )
    )
    if fast:
        tour = [replace(step, hold=0.2) for step in tour]
    return tour


def script(fast: bool = False, loop: bool = False) -> Callable[[ConcvizApp], Awaitable[None]]:
    """The tour as a script the app runs once it is up (``ConcvizApp(driver=...)``)."""

    async def drive(app: ConcvizApp) -> None:
        await play(app, fast=fast, loop=loop)

    return drive


async def play(app: ConcvizApp, fast: bool = False, loop: bool = False) -> None:
    """Drive ``app`` through the tour (again and again with ``loop``), then quit.

    Only the app's public actions and its run state are used: each step awaits its run's
    end, then holds the picture.
    """
    while True:
        for step in steps(fast):
            app.caption(step.caption)
            if step.compare:
                screen = app.open_compare(fresh=True)
                if screen is not None:
                    await screen.over()
                    await asyncio.sleep(step.hold)
                    await screen.action_back()
                continue
            if step.choices is not None:
                app.start_run(step.choices)
                await app.run_ended()
            await asyncio.sleep(step.hold)
        if not loop:
            break
    app.caption("")
    app.exit()
