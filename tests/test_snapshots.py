"""SVG snapshots of the dashboard, fed by recorded runs, fixed CPU readings and a fixed clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.recorded import MS, T0, process_pool_run, thread_run
from tui.app import ConcvizApp
from tui.choices import Choices
from tui.sampler import FixedSampler
from tui.screens.compare import CompareScreen
from workloads import compare as comparing
from workloads import session

SIZES = [(80, 24), (120, 40)]
CHOICES = Choices(
    workload="sum-squares", backend="process-pool", start_method="fork", workers=2, tasks=12
)


def app_with(trace: object = None, now_ms: int = 0, tmp: Path | None = None) -> ConcvizApp:
    app = ConcvizApp(
        CHOICES,
        sampler=FixedSampler([35.0, 82.0], lanes={0: 97.0, 1: 95.0}),
        clock=lambda: T0 + now_ms * MS,
        trace=trace,  # type: ignore[arg-type]
        sample_interval=3600,
        output_dir=tmp,
    )
    app.theme = "textual-dark"
    return app


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_idle(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(app_with(), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_mid_run(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    trace = process_pool_run(finished=False, upto_ms=700)
    assert snap_compare(app_with(trace, now_ms=700), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_finished_with_summary(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def select_a_task(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press("down", "down")
        await pilot.pause()  # the selection message reaches the summary
        await pilot.pause()

    assert snap_compare(
        app_with(process_pool_run(), now_ms=2000), terminal_size=size, run_before=select_a_task
    )


def _result(backend: str, trace: object, baseline: float) -> comparing.CompareResult:
    outcome = session.Outcome(session.FINISHED, trace)  # type: ignore[arg-type]
    method = "fork" if backend == "process-pool" else None
    return comparing.result_of(backend, method, outcome, comparing.Baseline(baseline, 0.98))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_compare_view(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    threads = thread_run()
    pool = process_pool_run()
    baseline = threads.stats().wall_s
    results = [_result("thread-pool", threads, baseline), _result("process-pool", pool, baseline)]

    async def open_compare(pilot) -> None:  # type: ignore[no-untyped-def]
        spec = CHOICES.to_spec()
        pilot.app.push_screen(CompareScreen(spec, results=results))
        await pilot.pause()

    assert snap_compare(app_with(), terminal_size=size, run_before=open_compare)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(app_with(), terminal_size=size, press=["question_mark"])
