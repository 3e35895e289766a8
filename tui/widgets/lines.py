"""Provides LineCacheWidget: a Line API base that repaints only the lines that changed.

Over SSH every repainted cell costs bytes. A widget that refreshes as a whole resends all of
its lines each frame even when one bar grew; this base keeps the last frame's strips and
refreshes just the rows whose content differs.
"""

from __future__ import annotations

from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


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
        width, height = self.size.width, self.size.height
        if (width, height) != self._built_for or not self._lines:
            self._lines = []
            self.refresh()
            return
        new = self._build(width, height)
        changed = [
            y
            for y, strip in enumerate(new)
            if y >= len(self._lines) or strip._segments != self._lines[y]._segments  # noqa: SLF001
        ]
        self._lines = new
        for y in changed:
            self.refresh(Region(0, y, width, 1))

    def render_line(self, y: int) -> Strip:
        width, height = self.size.width, self.size.height
        if (width, height) != self._built_for or not self._lines:
            self._lines = self._build(width, height)
            self._built_for = (width, height)
        if 0 <= y < len(self._lines):
            return self._lines[y]
        return Strip.blank(width, self.rich_style)
