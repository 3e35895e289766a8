"""Pure tests of the trace store, the statistics and the timeline renderer (no processes)."""

from __future__ import annotations

import io

from rich.console import Console

from tui import report
from tui.render import timeline
from workloads import events
from workloads.export import chrome_trace
from workloads.trace import Trace

MS = 1_000_000


def recorded_trace() -> Trace:
    """Two process lanes, four tasks, one failing; events deliberately out of order."""
    trace = Trace()
    batch = [
        events.task_finished(1, 11, 11, 100 * MS, 95 * MS, events.OK, "4", None),
        events.run_started(0, {"tasks": 4, "inputs": ["1", "2", "3", "4"], "lane_kind": "proc"}),
        events.worker_up(10, 10, 0, "proc", "fork"),
        events.worker_up(11, 11, 0, "proc", "fork"),
        events.task_started(0, 10, 10, 0),
        events.task_started(1, 11, 11, 0),
        events.task_finished(0, 10, 10, 50 * MS, 50 * MS, events.OK, "2", None),
        events.task_started(2, 10, 10, 50 * MS),
        events.task_finished(2, 10, 10, 100 * MS, 5 * MS, events.ERROR, "", "ValueError: no"),
        events.task_started(3, 11, 11, 100 * MS),
        events.task_finished(3, 11, 11, 200 * MS, 100 * MS, events.OK, "8", None),
        events.task_result(0, 60 * MS),
        events.task_result(1, 110 * MS),
        events.run_finished(200 * MS, 0, 200 * MS, {"workers": 2}),
    ]
    trace.ingest(batch)
    return trace


def test_trace_folds_events_in_any_order() -> None:
    trace = recorded_trace()
    assert [lane.label for lane in trace.lanes] == ["proc 1 · pid 11", "proc 2 · pid 10"]
    assert trace.task(1).result == "4"
    assert trace.task(1).lane is not None and trace.task(1).lane.pid == 11
    assert trace.task(2).status == "error"
    assert trace.task(2).error == "ValueError: no"
    assert list(trace.recv_order) == [0, 1]
    assert trace.finished


def test_statistics_are_busy_and_cpu_time_over_wall_time() -> None:
    stats = recorded_trace().stats()
    assert stats.wall_s == 0.2
    assert round(stats.busy_s, 3) == 0.3  # 50 + 100 + 50 + 100 ms
    assert round(stats.cpu_s, 3) == 0.25
    assert round(stats.parallelism, 3) == 1.5
    assert round(stats.cpu_parallelism, 3) == 1.25
    assert (stats.ok, stats.errors, stats.unfinished) == (3, 1, 0)
    lane = next(lane for lane in stats.lanes if lane.pid == 10)
    assert lane.tasks == 2 and round(lane.busy_share, 2) == 0.5


def one_lane_trace(*tasks: tuple[int, int, int, int]) -> Trace:
    """A finished run with every task (start ms, end ms, cpu ms, status) on one lane."""
    trace = Trace()
    batch: list[events.Event] = [events.run_started(0, {"tasks": len(tasks), "lane_kind": "proc"})]
    for task, (start, end, cpu, status) in enumerate(tasks):
        batch.append(events.task_started(task, 7, 7, start * MS))
        batch.append(events.task_finished(task, 7, 7, end * MS, cpu * MS, status, "", None))
    trace.ingest(batch)
    return trace


def test_a_computing_bar_is_solid_and_a_waiting_bar_is_light() -> None:
    solid = one_lane_trace((0, 10, 10, events.OK))
    waiting = one_lane_trace((0, 10, 0, events.OK))
    assert timeline.render_lane(solid, 0, 0, 20 * MS, 20, 20 * MS)[0] == ("█" * 10, timeline.BAR_A)
    assert timeline.render_lane(waiting, 0, 0, 20 * MS, 20, 20 * MS)[0] == (
        "░" * 10,
        timeline.BAR_A,
    )
    assert timeline.render_lane(solid, 0, 0, 20 * MS, 20, 20 * MS)[1] == (" " * 10, None)


def test_bar_ends_have_eighth_cell_precision() -> None:
    trace = one_lane_trace((0, 25, 25, events.OK))
    assert timeline.render_lane(trace, 0, 0, 100 * MS, 10, 100 * MS)[0] == ("██▌", timeline.BAR_A)


def test_a_task_too_short_for_its_cell_still_shows() -> None:
    trace = one_lane_trace((550, 550, 0, events.OK))  # a task of no length in a 1 s view
    runs = timeline.render_lane(trace, 0, 0, 1000 * MS, 10, 1000 * MS)
    assert runs == [(" " * 5, None), ("▏", timeline.BAR_A), (" " * 4, None)]


def test_adjacent_tasks_alternate_styles_and_failures_stand_out() -> None:
    trace = one_lane_trace(
        (0, 10, 10, events.OK), (10, 20, 10, events.OK), (20, 30, 10, events.ERROR)
    )
    runs = timeline.render_lane(trace, 0, 0, 30 * MS, 30, 30 * MS)
    assert [style for _, style in runs] == [timeline.BAR_A, timeline.BAR_B, timeline.ERROR]
    assert [len(text) for text, _ in runs] == [10, 10, 10]


def test_each_cell_of_20000_back_to_back_tasks_shows_as_its_own_mark() -> None:
    # 20,000 back-to-back tasks: each of 50 cells still gets its own busy share, and shows
    # where its last task starts (400 a cell: each cell reads as its own mark, not one bar).
    trace = one_lane_trace(*((i, i + 1, 1, events.OK) for i in range(20_000)))
    runs = timeline.render_lane(trace, 0, 0, 20_000 * MS, 50, 20_000 * MS)
    assert "".join(text for text, _ in runs) == "▌" * 50


def test_a_running_task_grows_until_now() -> None:
    trace = Trace()
    trace.ingest([events.run_started(0, {"tasks": 1}), events.task_started(0, 7, 7, 0)])
    early = timeline.render_lane(trace, 0, 0, 100 * MS, 10, 30 * MS, running_share=1.0)
    later = timeline.render_lane(trace, 0, 0, 100 * MS, 10, 60 * MS, running_share=1.0)
    assert early[0] == ("███", timeline.RUNNING)
    assert later[0] == ("██████", timeline.RUNNING)


def test_axis_labels_fit_the_width() -> None:
    line = timeline.axis(0, 2_000_000_000, 60)
    assert line.startswith("0s")
    assert "1s" in line and len(line) == 60


def test_text_timeline_renders_with_rich() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, color_system=None)
    for text in report.timeline_text(recorded_trace(), 80):
        console.print(text, no_wrap=True, overflow="crop")
    out = buffer.getvalue().splitlines()
    assert out[0].startswith("proc 1 · pid 11")
    assert "█" in out[0] and out[-1].strip().startswith("0s")


def test_chrome_trace_spans_and_names() -> None:
    data = chrome_trace(recorded_trace())
    spans = [e for e in data["traceEvents"] if e["ph"] == "X"]
    assert len(spans) == 4
    by_task = {e["args"]["task"]: e for e in spans}
    assert by_task[3]["ts"] == 100_000 and by_task[3]["dur"] == 100_000
    assert by_task[2]["args"]["error"] == "ValueError: no"
    # spans of one lane never overlap
    for lane in {(e["pid"], e["tid"]) for e in spans}:
        mine = sorted((e["ts"], e["ts"] + e["dur"]) for e in spans if (e["pid"], e["tid"]) == lane)
        assert all(a[1] <= b[0] for a, b in zip(mine, mine[1:], strict=False))


def test_a_task_that_ends_twice_keeps_its_first_run_as_a_lost_attempt() -> None:
    trace = Trace()
    trace.ingest([events.run_started(0, {"tasks": 2, "lane_kind": events.LANE_DASK})])
    done = events.task_done
    trace.ingest([done(0, 10, 11, 100, 200, 90, events.OK, "1", None)])
    trace.ingest([done(1, 10, 11, 200, 300, 90, events.OK, "2", None)])
    # Its worker died before the result was taken; dask ran task 0 again elsewhere.
    trace.ingest([done(0, 20, 21, 400, 500, 90, events.OK, "1", None)])
    first, second = trace.lanes
    assert trace.lost == [(0, first.id, 100, 200)]
    assert trace.lane[0] == second.id and trace.start[0] == 400
    assert (first.tasks, second.tasks) == (1, 1)
    assert list(trace.index[first.id].tasks) == [1]
    assert trace.index[first.id].until(1000)[0] == 100  # only task 1's busy time is left
