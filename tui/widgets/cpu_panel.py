"""Provides the CPU pane: a bar, a percentage and a braille load graph per core, and the total."""

from __future__ import annotations

from collections import deque
from typing import ClassVar

from rich.segment import Segment
from textual.geometry import Size
from textual.reactive import reactive
from textual.strip import Strip

from tui.render import cpu
from tui.sampler import CpuSample
from tui.widgets.lines import LineCacheWidget

HISTORY = 120
HISTORY_EVERY = 5  # one history point per this many samples (0.5 s at 10 samples a second)


class CpuPanel(LineCacheWidget):
    """Per-core load as psutil reports it (the app samples; this only draws).

    Under each bar a braille graph shows the core's recent load, coloured by load band like
    the bar. With many cores the graphs give way to the bars (see ``cpu.rows_per_graph``).
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "cpu--low",
        "cpu--mid",
        "cpu--high",
        "cpu--label",
        "cpu--total",
    }

    DEFAULT_CSS = """
    CpuPanel { height: auto; }
    CpuPanel > .cpu--low { color: $success; }
    CpuPanel > .cpu--mid { color: $warning; }
    CpuPanel > .cpu--high { color: $error; }
    CpuPanel > .cpu--label { color: $text-muted; }
    CpuPanel > .cpu--total { color: $accent; text-style: bold; }
    """

    message: reactive[str] = reactive("sampling…", repaint=False, init=False)
    """What the pane says until its first reading ("loading…", "CPU not recorded")."""

    def watch_message(self) -> None:
        self.update_lines()

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self._cores: list[float] = []
        self._history: list[deque[float]] = []
        self._total: deque[float] = deque(maxlen=HISTORY)
        self._pending: list[list[float]] = []
        self._weight = 0  # readings (at the run's rate) in _pending

    def add(self, sample: CpuSample, weight: int = 1) -> None:
        """Take one reading; the history advances every few readings (their mean).

        ``weight``: how many readings at the run's rate this one stands for (an idle app reads
        less often): the graph's points stay the same time apart, idle or not.
        """
        first = not self._cores
        if len(self._history) != len(sample.cores):
            self._history = [deque(maxlen=HISTORY) for _ in sample.cores]
            self._pending = []
            self._weight = 0
        self._cores = list(sample.cores)
        self._pending.append(self._cores + [sample.total])
        self._weight += weight
        if self._weight >= HISTORY_EVERY or first:
            means = [sum(column) / len(column) for column in zip(*self._pending, strict=True)]
            for _ in range(max(1, self._weight // HISTORY_EVERY)):
                for history, value in zip(self._history, means, strict=False):
                    history.append(value)
                self._total.append(means[-1])
            self._pending = []
            self._weight = 0
        if first:
            self.refresh(layout=True)
        self.update_lines()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if not self._cores:
            return 1
        # As tall as the graphs that fit the pane: the same choice build_lines makes.
        per_core, total = cpu.rows_per_graph(len(self._cores), container.height)
        return cpu.lines_needed(len(self._cores), per_core, total)

    def build_lines(self, width: int, height: int) -> list[Strip]:
        if not self._cores:
            return [
                Strip(
                    [
                        Segment(
                            self.message,
                            self.get_component_rich_style("cpu--label", partial=True),
                        )
                    ]
                )
            ]
        label = max(len(str(len(self._cores) - 1)), 3)
        bar_width = max(width - label - 6, 3)
        graph_width = max(width - label - 1, 1)  # under the bar and its percentage
        muted = self.get_component_rich_style("cpu--label", partial=True)
        bands = {
            band: self.get_component_rich_style(f"cpu--{band.value}", partial=True)
            for band in cpu.Load
        }
        indent = Segment(" " * (label + 1))
        per_core, total_rows = cpu.rows_per_graph(len(self._cores), height)
        rows = [
            (f"{i:>{label}} ", value, history, per_core)
            for i, (value, history) in enumerate(zip(self._cores, self._history, strict=True))
        ]
        total = sum(self._cores) / len(self._cores)
        rows.append((f"{'all':>{label}} ", total, self._total, total_rows))
        lines = []
        for index, (name, value, history, graph_rows) in enumerate(rows):
            is_total = index == len(rows) - 1
            style = (
                self.get_component_rich_style("cpu--total", partial=True)
                if is_total
                else bands[cpu.load(value)]
            )
            lines.append(
                Strip(
                    [
                        Segment(name, muted),
                        Segment(cpu.bar(value, bar_width), style),
                        Segment(f"{value:4.0f}%"),
                    ]
                )
            )
            # The graph changes only when the history advances, so between advances these
            # lines equal the last frame's and are not sent again.
            for runs in cpu.graph(history, graph_width, graph_rows):
                lines.append(
                    Strip(
                        [indent]
                        + [
                            Segment(run.text, bands[run.load] if run.load is not None else None)
                            for run in runs
                        ]
                    )
                )
        return lines
