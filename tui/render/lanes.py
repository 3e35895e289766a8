"""Provides a timeline lane as rich text: the glyph runs of ``timeline.render_lane`` coloured
for a terminal (``concviz run``, ``concviz diff``)."""

from __future__ import annotations

from rich.text import Text

from tui.render import timeline

STYLES = {
    timeline.BAR_A: "bold green",
    timeline.BAR_B: "bold cyan",
    timeline.ERROR: "bold red",
    timeline.RUNNING: "yellow",
    timeline.STARTUP: "blue",
}


def lane_line(label: str, runs: list[tuple[str, str | None]]) -> Text:
    """One lane: its (dim) label, then its bars in their colours."""
    text = Text(label, style="dim")
    for glyphs, style in runs:
        text.append(glyphs, style=STYLES.get(style or "", ""))
    return text
