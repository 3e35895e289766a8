"""Provides LineCacheWidget: a Line API base that repaints only the lines that changed.

Over SSH every repainted cell costs bytes. A widget that refreshes as a whole resends all of
its lines each frame even when one bar grew; this base keeps the last frame's strips and
refreshes just the rows whose content differs.
"""

from __future__ import annotations

from textual.app import ScreenStackError
from textual.dom import NoScreen
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


def _cells(strip: Strip) -> list[tuple[str, object]]:
    return [(char, segment.style) for segment in strip for char in segment.text]


def _changed_span(old: Strip, new: Strip) -> tuple[int, int] | None:
    """The columns ``[first, last)`` where two lines differ, or None when they are equal."""
    if old._segments == new._segments:  # noqa: SLF001 - the cheap common case
        return None
    a, b = _cells(old), _cells(new)
    length = max(len(a), len(b))
    differs = [i for i in range(length) if i >= len(a) or i >= len(b) or a[i] != b[i]]
    if not differs:
        return None
    return differs[0], differs[-1] + 1


class LineCacheWidget(Widget):
    """Subclasses implement ``build_lines(width, height)``; call ``update_lines()`` on change."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self._lines: list[Strip] = []
        self._built_for = (0, 0)

    def build_lines(self, width: int, height: int) -> list[Strip]:
        raise NotImplementedError

    def _build(self, width: int, height: int) -> list[Strip]:
        # Unstyled cells take the widget's own colours (its background in particular).
        base = self.rich_style
        return [strip.apply_style(base) for strip in self.build_lines(width, height)]

    def update_lines(self) -> None:
        """Rebuild the frame and refresh only the rows that changed."""
        try:
            covered = self.app.screen is not self.screen
        except (NoScreen, ScreenStackError):  # the app is closing
            return
        if covered:
            # Under another screen (compare, help) any refresh here makes Textual repaint the
            # whole terminal, every time: draw afresh when this screen is back on top instead.
            self._lines = []
            return
        width, height = self.size.width, self.size.height
        if (width, height) != self._built_for or not self._lines:
            self._lines = []
            self.refresh()
            return
        new = self._build(width, height)
        old = self._lines
        self._lines = new
        for y, strip in enumerate(new):
            if y >= len(old):
                self.refresh(Region(0, y, width, 1))
                continue
            span = _changed_span(old[y], strip)
            if span is not None:  # only the cells that differ: a growing bar costs one cell
                self.refresh(Region(span[0], y, span[1] - span[0], 1))

    def render_line(self, y: int) -> Strip:
        width, height = self.size.width, self.size.height
        if (width, height) != self._built_for or not self._lines:
            self._lines = self._build(width, height)
            self._built_for = (width, height)
        if 0 <= y < len(self._lines):
            return self._lines[y]
        return Strip.blank(width, self.rich_style)
