"""Provides LineCacheWidget: a Line API base that repaints only the cells that changed.

Over SSH every repainted cell costs bytes. A widget that refreshes as a whole resends all of
its lines each frame even when one bar grew; this base keeps the last frame's strips and
refreshes just the cells that differ.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console
from rich.control import Control
from textual._compositor import ChopsUpdate
from textual.app import ScreenStackError
from textual.dom import NoScreen
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

_WIDE_TAIL = ("", None)  # the second column of a double-width character


def _cells(strip: Strip) -> list[tuple[str, object]]:
    """One entry per terminal column: a double-width character takes two."""
    cells: list[tuple[str, object]] = []
    for segment in strip:
        for char in segment.text:
            cells.append((char, segment.style))
            if cell_len(char) == 2:
                cells.append(_WIDE_TAIL)
    return cells


def _changed_span(old: Strip, new: Strip) -> tuple[int, int] | None:
    """The columns ``[first, last)`` where two lines differ, or None when they are equal.

    The span never starts or ends inside a double-width character.
    """
    if old._segments == new._segments:  # noqa: SLF001 - the cheap common case
        return None
    a, b = _cells(old), _cells(new)
    length = max(len(a), len(b))
    differs = [i for i in range(length) if i >= len(a) or i >= len(b) or a[i] != b[i]]
    if not differs:
        return None
    first, last = differs[0], differs[-1] + 1
    if first > 0 and _WIDE_TAIL in (a[first : first + 1] + b[first : first + 1]):
        first -= 1
    if _WIDE_TAIL in (a[last : last + 1] + b[last : last + 1]):
        last += 1
    return first, last


def _render_changed_cells(self: ChopsUpdate, console: Console) -> str:
    """What a partial update writes to the terminal: each refreshed span from its own first
    column.

    Textual 8's ``ChopsUpdate.render_segments`` crops a refreshed span at its end only ("TODO:
    crop to x extents", Textual #5625): a refresh of one cell at the right of a lane resent the
    lane from the widget's left edge, label and all, on every frame. This is the same code with
    the start cropped too.
    """
    sequences: list[str] = []
    append = sequences.append
    move_to = Control.move_to
    chops = self.chops
    chop_ends = self.chop_ends
    last_y = self.spans[-1][0]
    for y, x1, x2 in self.spans:
        line = chops[y]
        ends = chop_ends[y]
        for end, (x, strip) in zip(ends, line.items(), strict=False):
            if strip is None or x > x2 or end <= x1:
                continue
            if x2 > x >= x1 and end <= x2:
                append(move_to(x, y).segment.text)
                append(strip.render(console))
                continue
            start = max(x1, x)
            append(move_to(start, y).segment.text)
            append(strip.crop(start - x, min(end, x2) - x).render(console))
        if y != last_y:
            append("\n")
    return "".join(sequences)


def send_changed_cells_only() -> None:
    """Make partial updates write only the refreshed cells (see ``_render_changed_cells``).

    Applied only to the Textual whose partial update this mirrors (its ``ChopsUpdate`` keeps
    ``chops``, ``spans`` and ``chop_ends``); any other leaves Textual's own.
    """
    if ChopsUpdate.render_segments is _render_changed_cells:
        return
    names = ChopsUpdate.__init__.__code__.co_varnames
    if all(name in names for name in ("chops", "spans", "chop_ends")):
        ChopsUpdate.render_segments = _render_changed_cells  # type: ignore[method-assign]


send_changed_cells_only()


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
