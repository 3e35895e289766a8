"""Provides the CPU pane: a bar, a percentage and a short history per core, and the total."""

from __future__ import annotations

from collections import deque
from typing import ClassVar

from rich.segment import Segment
from textual.strip import Strip

from tui.render import cpu
from tui.sampler import CpuSample
from tui.widgets.lines import LineCacheWidget

HISTORY = 120
HISTORY_EVERY = 5  # one history point per this many samples (0.5 s at 10 samples a second)


class CpuPanel(LineCacheWidget):
    """Per-core load as psutil reports it (the app samples; this only draws)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "cpu--low",
        "cpu--mid",
        "cpu--high",
        "cpu--label",
        "cpu--history",
        "cpu--total",
    }

    DEFAULT_CSS = """
    CpuPanel { height: auto; }
    CpuPanel > .cpu--low { color: $success; }
    CpuPanel > .cpu--mid { color: $warning; }
    CpuPanel > .cpu--high { color: $error; }
    CpuPanel > .cpu--label { color: $text-muted; }
    CpuPanel > .cpu--history { color: $text-muted; }
    CpuPanel > .cpu--total { color: $accent; text-style: bold; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self._cores: list[float] = []
        self._history: list[deque[float]] = []
        self._total: deque[float] = deque(maxlen=HISTORY)
        self._pending: list[list[float]] = []
        self.message = "sampling…"  # until the first reading

    def add(self, sample: CpuSample) -> None:
        """Take one reading; the history advances every few readings (their mean)."""
        first = not self._cores
        if len(self._history) != len(sample.cores):
            self._history = [deque(maxlen=HISTORY) for _ in sample.cores]
            self._pending = []
        self._cores = list(sample.cores)
        self._pending.append(self._cores + [sample.total])
        if len(self._pending) >= HISTORY_EVERY or first:
            means = [sum(column) / len(column) for column in zip(*self._pending, strict=True)]
            for history, value in zip(self._history, means, strict=False):
                history.append(value)
            self._total.append(means[-1])
            self._pending = []
        if first:
            self.refresh(layout=True)
        self.update_lines()

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return max(1, len(self._cores) * 2 + 2)  # two lines per core, two for the total

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
        muted = self.get_component_rich_style("cpu--label", partial=True)
        history_style = self.get_component_rich_style("cpu--history", partial=True)
        lines = []
        rows = [
            (f"{i:>{label}} ", value, history)
            for i, (value, history) in enumerate(zip(self._cores, self._history, strict=True))
        ]
        total = sum(self._cores) / len(self._cores)
        rows.append((f"{'all':>{label}} ", total, self._total))
        for index, (name, value, history) in enumerate(rows):
            is_total = index == len(rows) - 1
            level = (
                "cpu--total"
                if is_total
                else "cpu--high"
                if value >= 90
                else "cpu--mid"
                if value >= 50
                else "cpu--low"
            )
            style = self.get_component_rich_style(level, partial=True)
            lines.append(
                Strip(
                    [
                        Segment(name, muted),
                        Segment(cpu.bar(value, bar_width), style),
                        Segment(f"{value:4.0f}%"),
                    ]
                )
            )
            lines.append(
                Strip(
                    [
                        Segment(" " * (label + 1)),
                        Segment(
                            cpu.sparkline(history, bar_width), style if is_total else history_style
                        ),
                    ]
                )
            )
        return lines
