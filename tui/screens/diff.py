"""Provides the diff screen: the pinned run (A) and the shown one (B), both timelines on one
time scale, and where each one's time went, part by part."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.render import diff, timeline


class DiffScreen(Screen[None]):
    """Two runs, one above the other."""

    DEFAULT_CSS = """
    DiffScreen > VerticalScroll { border: round $primary; padding: 0 1; }
    DiffScreen #diff-parts { margin-top: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,D", "dismiss", "Back"),
    ]

    def __init__(self, a: diff.Side, b: diff.Side) -> None:
        super().__init__()
        self.a = a
        self.b = b

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = f"{self.a.name} pinned against {self.b.name} shown"
            yield Static(id="diff-lanes")  # lanes are cropped, never wrapped
            yield Static(id="diff-parts")
        yield Footer()

    def on_mount(self) -> None:
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        width = max(self.app.size.width - 4, 40)
        lanes = Text(no_wrap=True, overflow="crop")
        for line in diff.timelines(self.a, self.b, width):
            lanes.append_text(line)
            lanes.append("\n")
        lanes.append(timeline.legend(), style="dim")
        parts = Text()
        for line in diff.comparison(self.a, self.b, min(40, width // 3)):
            parts.append_text(line)
            parts.append("\n")
        self.query_one("#diff-lanes", Static).update(lanes)
        self.query_one("#diff-parts", Static).update(parts)
