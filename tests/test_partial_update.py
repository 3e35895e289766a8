"""A partial screen update writes the changed cells only, and leaves the screen right."""

from __future__ import annotations

import pyte
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate
from textual.strip import Strip

from tui.widgets import lines  # noqa: F401 - installs the cropped partial update

WIDTH = 40


def _screen_after(*writes: str) -> str:
    screen = pyte.Screen(WIDTH, 2)
    stream = pyte.Stream(screen)
    for text in writes:
        stream.feed(text)
    return screen.display[0]


def _line(label: str, bar: str) -> Strip:
    return Strip(
        [Segment(label, Style(bold=True)), Segment(bar, Style(color="cyan"))],
        cell_length=len(label) + len(bar),
    )


def test_a_bar_growing_at_the_right_resends_only_its_cells() -> None:
    console = Console(width=WIDTH, color_system="truecolor", legacy_windows=False)
    old = _line("t0 pid 4711 ", "█" * 10 + " " * 18)
    new = _line("t0 pid 4711 ", "█" * 12 + " " * 16)
    full = ChopsUpdate([{0: old}], [(0, 0, WIDTH)], [[WIDTH]]).render_segments(console)
    # Two cells changed (columns 22 and 23): the update covers just them.
    partial = ChopsUpdate([{0: new}], [(0, 22, 24)], [[WIDTH]]).render_segments(console)
    assert "t0 pid" not in partial, "the label left of the change is not resent"
    assert len(partial) < len(full) / 3
    assert _screen_after(full, partial) == new.text


def test_a_change_under_a_wide_character_keeps_it_whole() -> None:
    """A span that would cut a double-width character in half takes all of it."""
    console = Console(width=WIDTH, color_system="truecolor", legacy_windows=False)
    old = _line("任务 ", "█" * 5 + " " * 30)
    new = _line("任務 ", "█" * 5 + " " * 30)  # the second character (columns 2-3) changed
    span = lines._changed_span(old, new)
    assert span == (2, 4)
    full = ChopsUpdate([{0: old}], [(0, 0, WIDTH)], [[WIDTH]]).render_segments(console)
    partial = ChopsUpdate([{0: new}], [(0, *span)], [[WIDTH]]).render_segments(console)
    assert _screen_after(full, partial).replace(" ", "")[:2] == "任務"
