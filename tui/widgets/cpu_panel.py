"""Provides the CPU pane: a bar, a percentage and a short history per core, and the total."""

from __future__ import annotations

from collections import deque

from rich.text import Text
from textual.widget import Widget

from tui.render import cpu
from tui.sampler import CpuSample

HISTORY = 120


class CpuPanel(Widget):
    """Per-core load as psutil reports it (sampled by the app, never here)."""

    DEFAULT_CSS = """
    CpuPanel { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self._cores: list[float] = []
        self._history: list[deque[float]] = []
        self._total: deque[float] = deque(maxlen=HISTORY)

    def add(self, sample: CpuSample) -> None:
        """Take one reading."""
        if len(self._history) != len(sample.cores):
            self._history = [deque(maxlen=HISTORY) for _ in sample.cores]
        for history, value in zip(self._history, sample.cores, strict=True):
            history.append(value)
        self._cores = list(sample.cores)
        self._total.append(sample.total)
        self.refresh(layout=True)

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return max(2, len(self._cores) * 2 + 2)  # two lines per core, two for the total

    def render(self) -> Text:
        width = max(self.size.width, 10)
        if not self._cores:
            return Text("sampling…", style="dim italic")
        label = max(len(str(len(self._cores) - 1)), 3)
        bar_width = max(width - label - 6, 3)
        text = Text(no_wrap=True, overflow="crop")
        for index, (value, history) in enumerate(zip(self._cores, self._history, strict=True)):
            style = "bold red" if value >= 90 else "bold yellow" if value >= 50 else "bold green"
            text.append(f"{index:>{label}} ", style="dim")
            text.append(cpu.bar(value, bar_width), style=style)
            text.append(f"{value:4.0f}%\n")
            text.append(" " * (label + 1))
            text.append(cpu.sparkline(history, bar_width), style="dim")
            text.append("\n")
        total = self._total[-1] if self._total else 0.0
        text.append(f"{'all':>{label}} ", style="bold")
        text.append(cpu.bar(total, bar_width), style="bold cyan")
        text.append(f"{total:4.0f}%\n")
        text.append(" " * (label + 1))
        text.append(cpu.sparkline(self._total, bar_width), style="cyan")
        return text
