"""The timeline as text: one bar per task without colour, and no CPU claims nobody measured.

Text views (``concviz run``, a dashboard under NO_COLOR, a pasted capture) have only glyphs:
back-to-back tasks must stay separate bars in them, and a bar must not read as "on CPU" when
its CPU share is not known (a stalled task, a trace recorded without CPU times).
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from tests.recorded import T0, process_pool_run
from tui import report
from tui.app import ConcvizApp
from tui.choices import Choices
from tui.render import timeline
from tui.sampler import FixedSampler
from tui.widgets.timeline import TimelineView
from workloads import events
from workloads.trace import UNSET, Trace

ROOT = Path(__file__).resolve().parent.parent
MS = 1_000_000
CELL = MS  # the pure tests draw 60 cells over 60 ms: one millisecond a cell
WIDTH = 60

# Glyphs whose ink touches the left or the right edge of their cell. Ink that touches across a
# cell edge reads as one bar; a 7/8 block counts as touching (its gap is too thin to see).
TOUCH_LEFT = set("█▓▒░━▏▎▍▌▋▊▉╸")
TOUCH_RIGHT = set("█▓▒░━▐▕╺▉")
GLYPHS = TOUCH_LEFT | TOUCH_RIGHT


def bars(line: str) -> int:
    """How many separate bars a reader sees in ``line`` (anything but bar glyphs is a gap)."""
    count = 0
    previous = " "
    for glyph in line:
        if glyph in GLYPHS and not (glyph in TOUCH_LEFT and previous in TOUCH_RIGHT):
            count += 1
        previous = glyph if glyph in GLYPHS else " "
    return count


def one_lane(tasks: list[tuple[int, int, int]], info: dict[str, object] | None = None) -> Trace:
    """A finished run with every task (start ns, end ns, cpu ns) on one lane, all ok."""
    trace = Trace()
    batch: list[events.Event] = [
        events.run_started(0, {"tasks": len(tasks), "lane_kind": "proc", **(info or {})})
    ]
    for task, (start, end, cpu) in enumerate(tasks):
        batch.append(events.task_started(task, 7, 7, start))
        batch.append(events.task_finished(task, 7, 7, end, cpu, events.OK, "", None))
    trace.ingest(batch)
    return trace


def back_to_back(count: int, cells: float, offset: float = 0.0, gap: float = 0.0) -> Trace:
    """``count`` tasks of ``cells`` cells each, on CPU throughout, ``gap`` cells apart."""
    tasks = []
    for k in range(count):
        start = int((offset + k * (cells + gap)) * CELL)
        end = int((offset + k * (cells + gap) + cells) * CELL)
        tasks.append((start, end, end - start))
    return one_lane(tasks)


def drawn(trace: Trace, end_ns: int, share: float | None = None, lane: int = 0) -> str:
    """The lane's glyphs over [0, end_ns) in one cell a millisecond."""
    runs = timeline.render_lane(trace, lane, 0, end_ns, end_ns // CELL, end_ns, share)
    return "".join(text for text, _ in runs)


# -- one bar per task ---------------------------------------------------------------------


def test_back_to_back_tasks_meeting_on_cell_edges_are_separate_bars() -> None:
    trace = back_to_back(11, cells=5)
    line = drawn(trace, 60 * MS)
    assert bars(line) == 11, line


@pytest.mark.parametrize(
    ("cells", "offset"),
    [(5.3, 0.0), (4.0, 0.5), (2.5, 0.25), (1.5, 0.0), (1.0, 0.0), (1.0, 0.6), (7.0, 0.999)],
)
def test_back_to_back_tasks_of_one_length_are_as_many_bars(cells: float, offset: float) -> None:
    count = int((WIDTH - 2) / cells)
    line = drawn(back_to_back(count, cells, offset), WIDTH * MS)
    assert bars(line) == count, line


def test_tasks_with_gaps_thinner_than_an_eighth_of_a_cell_are_separate_bars() -> None:
    # A process pool's hand-over between tasks: far less than a cell at any useful zoom.
    line = drawn(back_to_back(11, cells=5.2, gap=0.03), 60 * MS)
    assert bars(line) == 11, line
    line = drawn(back_to_back(11, cells=5.2, gap=0.1), 60 * MS)
    assert bars(line) == 11, line


def test_waiting_and_partly_waiting_bars_stay_separate_too() -> None:
    for cpu_share in (0.0, 0.3, 0.6):
        tasks = [(k * 5 * CELL, (k + 1) * 5 * CELL, int(5 * CELL * cpu_share)) for k in range(11)]
        line = drawn(one_lane(tasks), 60 * MS)
        assert bars(line) == 11, (cpu_share, line)
        assert "█" not in line.replace("▐", "").replace("▌", ""), line


def test_a_bar_still_covers_its_task_from_start_to_end() -> None:
    # 11 tasks over 55 of 60 cells: 55 cells inked (boundaries take half a cell each, no more).
    line = drawn(back_to_back(11, cells=5), 60 * MS)
    assert line[:55].count(" ") == 0 and line[55:] == " " * 5, line
    assert line.count("▐") == 10, "one boundary between each two tasks"


def test_many_tiny_tasks_read_as_many_marks_not_one_bar() -> None:
    packed = back_to_back(20_000, cells=50 / 20_000)  # 400 tasks a cell, back to back
    line = drawn(packed, 50 * MS)
    assert bars(line) == 50, line
    tasks = [(k * 2 * CELL + CELL // 4, k * 2 * CELL + CELL // 4 + 10, 10) for k in range(30)]
    line = drawn(one_lane(tasks), 60 * MS)  # apart: a tick each, as before
    assert line.count(timeline.TICK) == 30 and bars(line) == 30, line


def finished_then_running() -> Trace:
    """Task 0 ran 0-10 ms on one lane; task 1 started there at 10 ms and runs on."""
    trace = Trace()
    trace.ingest(
        [
            events.run_started(0, {"tasks": 2}),
            events.task_started(0, 7, 7, 0),
            events.task_finished(0, 7, 7, 10 * MS, 10 * MS, events.OK, "", None),
            events.task_started(1, 7, 7, 10 * MS),
        ]
    )
    return trace


def test_a_running_task_right_after_a_finished_one_is_its_own_bar() -> None:
    trace = finished_then_running()
    for share in (None, 0.9):
        runs = timeline.render_lane(trace, 0, 0, 60 * MS, 60, 30 * MS, share)
        line = "".join(text for text, _ in runs)
        assert bars(line) == 2, (share, line)


# -- CPU share not known --------------------------------------------------------------------


def running_trace() -> Trace:
    trace = Trace()
    trace.ingest([events.run_started(0, {"tasks": 1}), events.task_started(0, 7, 7, 0)])
    return trace


def test_a_running_task_without_a_cpu_reading_is_not_drawn_on_cpu() -> None:
    runs = timeline.render_lane(running_trace(), 0, 0, 100 * MS, 10, 60 * MS)
    assert runs[0] == (timeline.UNKNOWN * 6, timeline.RUNNING)
    measured = timeline.render_lane(running_trace(), 0, 0, 100 * MS, 10, 60 * MS, 1.0)
    assert measured[0] == ("█" * 6, timeline.RUNNING), "a live reading still fills the bar"


def test_a_stalled_task_is_not_drawn_on_cpu() -> None:
    trace = finished_then_running()
    trace.mark([1], events.STALLED, at_ns=60 * MS)
    trace.finished = True
    runs = timeline.render_lane(trace, 0, 0, 60 * MS, 60, 60 * MS)
    line = "".join(text for text, _ in runs)
    assert line[:10] == "█" * 10, "the finished task computed"
    assert "█" not in line[10:] and line[11:] == timeline.UNKNOWN * 49, line
    assert runs[-1][1] == timeline.ERROR
    assert bars(line) == 2


def test_a_trace_without_cpu_times_draws_no_cpu_fills() -> None:
    for cpu in (UNSET, 5 * MS):  # not recorded, or a stand-in the reader filled in
        tasks = [(k * 5 * CELL, (k + 1) * 5 * CELL, cpu) for k in range(11)]
        trace = one_lane(tasks, {"cpu_measured": False})
        line = drawn(trace, 60 * MS)
        assert not set(line) & set(timeline.SHADES), line
        assert timeline.UNKNOWN in line and bars(line) == 11, line


def test_a_task_whose_cpu_time_was_not_recorded_is_drawn_as_not_known() -> None:
    trace = one_lane([(0, 10 * MS, UNSET), (10 * MS, 20 * MS, 10 * MS)])
    line = drawn(trace, 20 * MS)
    assert line[:10] == timeline.UNKNOWN * 10 and "░" not in line, line
    assert line[11:] == "█" * 9 and bars(line) == 2, line


def test_the_legend_names_the_not_known_glyph() -> None:
    assert f"{timeline.UNKNOWN} CPU not known" in timeline.legend()


# -- as users meet it ------------------------------------------------------------------------


def test_the_printed_timeline_shows_a_bar_per_task_on_each_lane() -> None:
    trace = process_pool_run()  # two workers, tasks back to back with 1 ms hand-overs
    buffer = io.StringIO()
    console = Console(file=buffer, width=100, color_system=None)
    for text in report.timeline_text(trace, 100):
        console.print(text, no_wrap=True, overflow="crop")
    lines = buffer.getvalue().splitlines()
    for lane in trace.lanes:
        line = next(line for line in lines if line.startswith(lane.label))
        assert bars(line) == lane.tasks, line


async def test_the_dashboard_shows_a_bar_per_task_and_no_cpu_for_a_stalled_task(
    tmp_path: Path,
) -> None:
    trace = process_pool_run()
    stuck_pid = 4799
    stalled_at = T0 + 1200 * MS
    trace.ingest([events.task_started(trace.count, stuck_pid, stuck_pid, T0 + 200 * MS)])
    trace.mark([trace.count - 1], events.STALLED, at_ns=stalled_at)
    stuck_lane = trace.lanes[-1].id
    app = ConcvizApp(
        Choices(), sampler=FixedSampler([50.0, 50.0]), trace=trace, output_dir=tmp_path
    )
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(TimelineView)
        # The last live reading of the stuck lane said 97 %: that was then, not the task's share.
        view.tick(stalled_at, {stuck_lane: 97.0})
        await pilot.pause()
        shown = [view.render_line(y).text for y in range(view.size.height)]
    for lane in trace.lanes:
        line = next(line for line in shown if f"{lane.pid}" in line)
        if lane.id == stuck_lane:
            assert "█" not in line and timeline.UNKNOWN in line, line
        else:
            assert bars(line) == lane.tasks, line


def concviz_run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", "run", *args],
        capture_output=True,
        text=True,
        env={**env, "NO_COLOR": "1"},
        cwd=ROOT,
        timeout=90,
        stdin=subprocess.DEVNULL,
    )


def lane_lines(stdout: str) -> list[str]:
    """The printed timeline's lane lines: those above its axis, which is above the legend."""
    lines = stdout.splitlines()
    legend = next(i for i, line in enumerate(lines) if line.startswith("█ on CPU"))
    found = []
    for line in reversed(lines[: legend - 1]):
        if not line.strip():
            break
        found.append(line)
    return found[::-1]


def test_concviz_run_prints_a_bar_per_sequential_task(cli_env: dict[str, str]) -> None:
    args = ["-w", "sum-squares", "-b", "sequential", "--tasks", "6", "--size", "200000"]
    result = concviz_run(*args, env=cli_env)
    assert result.returncode == 0, result.stderr
    lanes = lane_lines(result.stdout)
    assert len(lanes) == 1, result.stdout
    assert bars(lanes[0]) == 6, lanes[0]


def test_concviz_run_does_not_draw_a_stuck_task_as_computing(cli_env: dict[str, str]) -> None:
    args = ["-w", "hang", "-b", "thread-pool", "--tasks", "3", "--hang-at", "1"]
    args += ["--stall-timeout", "1"]
    result = concviz_run(*args, env=cli_env)
    assert result.returncode == 3, result.stdout + result.stderr
    stuck = re.search(r"stuck: task 1 on (.+) for ", result.stdout)
    assert stuck, result.stdout
    line = next(line for line in lane_lines(result.stdout) if line.startswith(stuck[1]))
    assert "█" not in line, line
    # The stuck task runs until the run is stopped: the lane ends in its not-known bar.
    assert line.rstrip().endswith(timeline.UNKNOWN * 10), line
