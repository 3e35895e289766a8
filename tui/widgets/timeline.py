"""Provides the timeline widget: a lane per worker thread, a bar per task, live."""

from __future__ import annotations

import textwrap
from bisect import bisect_right
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.strip import Strip

from tui.render import timeline
from tui.widgets.lines import LineCacheWidget
from workloads import events
from workloads.text import visible
from workloads.trace import UNSET, Lane, Trace

_COMPONENT = {
    timeline.BAR_A: "timeline--bar-a",
    timeline.BAR_B: "timeline--bar-b",
    timeline.ERROR: "timeline--error",
    timeline.RUNNING: "timeline--running",
    timeline.SELECTED: "timeline--selected",
    timeline.STARTUP: "timeline--startup",
}


class TimelineView(LineCacheWidget, can_focus=True):
    """Lanes × time. Fits the run while it runs; zoom, pan and pick tasks afterwards."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *_COMPONENT.values(),
        "timeline--label",
        "timeline--axis",
        "timeline--lane-bad",
        "timeline--lane-cpu",
        "timeline--empty",
        "timeline--startup",
    }

    DEFAULT_CSS = """
    TimelineView { height: 1fr; }
    TimelineView > .timeline--bar-a { color: $success; }
    TimelineView > .timeline--bar-b { color: $accent; }
    TimelineView > .timeline--error { color: $error; }
    TimelineView > .timeline--running { color: $warning; }
    TimelineView > .timeline--selected { color: $text; background: $primary; }
    TimelineView > .timeline--label { color: $text-muted; }
    TimelineView > .timeline--axis { color: $text-muted; }
    TimelineView > .timeline--lane-bad { color: $warning; text-style: bold; }
    TimelineView > .timeline--lane-cpu { color: $text-muted; }
    TimelineView > .timeline--empty { color: $text-muted; text-style: italic; }
    TimelineView > .timeline--startup { color: $secondary; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left_square_bracket", "zoom(0.5)", "Zoom in", key_display="[", show=False),
        Binding("right_square_bracket", "zoom(2)", "Zoom out", key_display="]", show=False),
        Binding("left", "pan(-0.25)", "Pan", show=False),
        Binding("right", "pan(0.25)", "Pan", show=False),
        Binding("f", "fit", "Fit", show=False),
        Binding("up", "step(-1)", "Previous task", show=False),
        Binding("down", "step(1)", "Next task", show=False),
        Binding("tab", "step(1)", "Next task", show=False),
    ]

    class TaskSelected(Message):
        """The user picked a task (or None)."""

        def __init__(self, task: int | None) -> None:
            super().__init__()
            self.task = task

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.trace: Trace | None = None
        self.now_ns = 0
        self.lane_cpu: dict[int, float] = {}
        self.window: tuple[int, int] | None = None  # None: fit the run
        self.selected: int | None = None
        self.message = "Press r to run the selected workload."
        self._first_lane = 0

    # -- data in ----------------------------------------------------------------------------

    def show(self, trace: Trace | None, message: str | None = None) -> None:
        """Show a (new) run from its start, fitted to the view."""
        self.trace = trace
        self.window = None
        self.selected = None
        self._first_lane = 0
        if message is not None:
            self.message = message
        self.update_lines()

    def tick(self, now_ns: int, lane_cpu: dict[int, float] | None = None) -> None:
        """Advance the clock (running bars grow) and the per-lane CPU readings."""
        self.now_ns = now_ns
        if lane_cpu is not None:
            self.lane_cpu = lane_cpu
        self.update_lines()

    # -- actions ----------------------------------------------------------------------------

    def current_window(self) -> tuple[int, int]:
        """The time range on screen."""
        if self.window is not None:
            return self.window
        if self.trace is None:
            return 0, 1
        return timeline.window_of(self.trace, self.now_ns or None)

    def action_zoom(self, factor: float) -> None:
        begin, end = self.current_window()
        centre = (begin + end) / 2
        if (
            self.selected is not None
            and self.trace is not None
            and self.trace.start[self.selected] != UNSET
        ):
            centre = self.trace.start[self.selected]
        half = max((end - begin) * factor / 2, 1000)
        self.window = (int(centre - half), int(centre + half))
        self.update_lines()

    def action_pan(self, fraction: float) -> None:
        begin, end = self.current_window()
        shift = int((end - begin) * fraction)
        self.window = (begin + shift, end + shift)
        self.update_lines()

    def action_fit(self) -> None:
        self.window = None
        self.update_lines()

    def action_step(self, direction: int) -> None:
        task = self._neighbour(direction)
        if task is not None:
            self.select(task)

    def select(self, task: int) -> None:
        """Select ``task``, scrolling the lanes so that its lane is on screen."""
        self.selected = task
        lane = self.trace.lane[task] if self.trace else UNSET
        if lane != UNSET:
            if lane < self._first_lane:
                self._first_lane = lane
            while lane >= self._first_lane + self._lane_rows(self._first_lane):
                self._first_lane += 1
        self.post_message(self.TaskSelected(task))
        self.update_lines()

    def _lane_rows(self, first: int) -> int:
        """How many lanes show from lane ``first`` on (the axis, and a "… more" line if needed)."""
        rows = max(self.size.height - 1, 1)
        lanes = len(self.trace.lanes) if self.trace else 0
        return rows if lanes <= first + rows else max(rows - 1, 1)

    def _neighbour(self, direction: int) -> int | None:
        """The task that starts next after (or last before) the selected one."""
        trace = self.trace
        if trace is None or not trace.lanes:
            return None
        if self.selected is None or trace.start[self.selected] == UNSET:
            key = (-1, -1) if direction > 0 else (2**63, 2**31)
        else:
            key = (trace.start[self.selected], self.selected)
        best: tuple[int, int] | None = None
        candidates: list[tuple[int, int]] = []
        for lane_id, index in enumerate(trace.index):
            if len(index) and trace.lanes[lane_id].kind != events.LANE_LOOP:  # tasks, not steps
                at = bisect_right(index.tasks, key[0], key=trace.start.__getitem__)
                for pos in (at - 2, at - 1, at, at + 1):
                    if 0 <= pos < len(index):
                        task = index.tasks[pos]
                        candidates.append((trace.start[task], task))
            running = trace.running.get(lane_id)
            if running is not None:
                candidates.append((trace.start[running], running))
        for candidate in candidates:
            if direction > 0 and candidate > key and (best is None or candidate < best):
                best = candidate
            if direction < 0 and candidate < key and (best is None or candidate > best):
                best = candidate
        return best[1] if best else None

    # -- drawing ----------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def _label(self, lane: Lane, width: int) -> str:
        if width >= 24:
            label = lane.label
            if len(label) > width and lane.kind == events.LANE_DASK:
                label = f"dask {lane.index} · pid {lane.pid}"  # its address would be cut
            return label[:width].ljust(width)
        if lane.kind == events.LANE_THREAD:
            number: int | str
            short, number = f"t{lane.index}", lane.tid
        elif lane.kind == events.LANE_MAIN:
            short, number = "main", lane.pid
        elif lane.kind == events.LANE_INTERP:  # a sub-interpreter's thread
            short, number = f"i{lane.index}", lane.tid
        elif lane.kind == events.LANE_LOOP:  # the event loop's own thread: its steps
            short, number = "loop", lane.tid
        elif lane.kind == events.LANE_CORO:  # a slot of the one event loop's tasks
            short, number = f"c{lane.index}", lane.pid
        elif lane.kind == events.LANE_DASK:  # a dask worker's task thread
            short, number = f"d{lane.index}", lane.pid
        elif lane.tid in (lane.pid, 0):  # a worker process's main thread
            short, number = f"p{lane.index}", lane.pid
        else:  # another thread of a process (another tool's trace)
            short, number = f"p{lane.index}", f"{lane.pid}/{lane.tid}"
        text = f"{short} {number}"
        # A cut id would read as another one: without room, the lane's number alone.
        return (text if len(text) <= width else short[:width]).ljust(width)

    def _label_width(self, width: int) -> int:
        if self.trace is None or not self.trace.lanes:
            return 0
        longest = max(len(lane.label) for lane in self.trace.lanes)
        if width >= 70:
            return min(longest, 30)
        return min(12, max(width // 4, 6))

    def build_lines(self, width: int, height: int) -> list[Strip]:
        """The whole frame: one strip per lane, the axis last."""
        return [self._line(y, width, height) for y in range(height)]

    def _line(self, y: int, width: int, height: int) -> Strip:
        trace = self.trace
        if trace is None or not trace.lanes:
            # The message can name the user's --target path: segments reach the terminal as-is.
            lines = textwrap.wrap(visible(self.message), max(width, 8)) or [""]
            if y < len(lines):
                return Strip([Segment(lines[y][:width], self._style("timeline--empty"))])
            return Strip.blank(width, self.rich_style)
        label_width = self._label_width(width)
        cpu_width = 5
        bar_width = max(width - label_width - cpu_width - 1, 4)
        begin, end = self.current_window()
        rows = max(height - 1, 1)
        if y == height - 1:
            axis = timeline.axis(begin, end, bar_width, origin=timeline.window_of(trace)[0])
            return Strip(
                [
                    Segment(" " * (label_width + cpu_width + 1)),
                    Segment(axis, self._style("timeline--axis")),
                ]
            )
        lane_id = self._first_lane + y
        if lane_id >= len(trace.lanes):
            return Strip.blank(width, self.rich_style)
        if y == rows - 1 and len(trace.lanes) > self._first_lane + rows:
            more = len(trace.lanes) - self._first_lane - rows + 1
            return Strip(
                [
                    Segment(
                        f"… {more} more lanes (↓ to follow the selection)",
                        self._style("timeline--label"),
                    )
                ]
            )
        lane = trace.lanes[lane_id]
        bad = lane.exitcode not in (None, 0) or (
            trace.running.get(lane_id) is not None
            and trace.status[trace.running[lane_id]] in (events.STALLED, events.CRASHED)
        )
        label_style = self._style("timeline--lane-bad" if bad else "timeline--label")
        cpu = self.lane_cpu.get(lane_id)
        cpu_text = f"{cpu:3.0f}% " if cpu is not None and not trace.finished else "     "
        segments = [
            Segment(self._label(lane, label_width), label_style),
            Segment(cpu_text[:cpu_width].rjust(cpu_width), self._style("timeline--lane-cpu")),
            Segment(" "),
        ]
        # The live reading is the running task's share only while the run goes on: once it is
        # over, a task still marked running (stalled, cancelled) has no share anyone measured.
        share = (cpu / 100) if cpu is not None and not trace.finished else None
        runs = timeline.render_lane(
            trace, lane_id, begin, end, bar_width, self.now_ns or end, share, self.selected
        )
        for text, style in runs:
            segments.append(Segment(text, self._style(_COMPONENT[style]) if style else None))
        return Strip(segments).crop(0, width)
