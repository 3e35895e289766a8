"""Provides the breakdown bar: a run's worker time as one stacked bar, a glyph and a colour per
part (the glyphs tell the parts apart without colour too: recordings, plain terminals)."""

from __future__ import annotations

from rich.text import Text

from workloads.breakdown import PARTS, Breakdown
from workloads.compare import CompareResult

GLYPHS = {
    "computing": "█",
    "waiting_for_core": "▒",  # runnable, not on a core: the timeline's "partly"
    "blocked": "░",  # the timeline's "waiting"
    "dispatch": "╍",
    "startup": "▞",
    "idle": "·",
}
STYLES = {
    "computing": "green",
    "waiting_for_core": "yellow",
    "blocked": "red",
    "dispatch": "magenta",
    "startup": "blue",
    "idle": "bright_black",
}


def cells(breakdown: Breakdown, width: int) -> list[tuple[str, int]]:
    """How many of ``width`` cells each part gets (largest remainders: they add up to width;
    a part of 1% or more gets at least one cell where there is room)."""
    shares = breakdown.fractions()
    exact = {part: (shares[part] or 0.0) * width for part in PARTS}
    counts = {part: int(value) for part, value in exact.items()}
    for part in PARTS:
        if counts[part] == 0 and (shares[part] or 0.0) >= 0.01 and sum(counts.values()) < width:
            counts[part] = 1
    left = width - sum(counts.values())
    by_remainder = sorted(PARTS, key=lambda p: exact[p] - int(exact[p]), reverse=True)
    for part in by_remainder:
        if left <= 0:
            break
        if exact[part] > 0:
            counts[part] += 1
            left -= 1
    while sum(counts.values()) > width:  # the minimum cells overshot: take from the largest
        largest = max(PARTS, key=lambda p: counts[p])
        counts[largest] -= 1
    return [(part, counts[part]) for part in PARTS if counts[part] > 0]


def bar(breakdown: Breakdown, width: int) -> Text:
    """The stacked bar, ``width`` cells."""
    text = Text(no_wrap=True)
    for part, count in cells(breakdown, width):
        text.append(GLYPHS[part] * count, style=STYLES[part])
    return text


def legend(breakdown: Breakdown) -> Text:
    """``█ 47% computing  ▒ 49% blocked (GIL) …``: the parts of 0.5% or more, in bar order."""
    text = Text()
    shares = breakdown.fractions()
    for part in PARTS:
        share = shares[part]
        if share is None:
            text.append(f"{breakdown.label(part)} not measured  ", style="dim")
            continue
        if share < 0.005:
            continue
        text.append(GLYPHS[part], style=STYLES[part])
        text.append(f" {share:.0%} {breakdown.label(part)}  ")
    text.rstrip()
    return text


def key() -> Text:
    """What each glyph of a breakdown bar stands for (``blocked``: the GIL, I/O, sleep, locks)."""
    text = Text()
    names = {"blocked": "blocked (GIL, I/O, sleep, locks)", "startup": "start-up"}
    for part in PARTS:
        text.append(GLYPHS[part], style=STYLES[part])
        text.append(f" {names.get(part, part.replace('_', ' '))}  ")
    text.rstrip()
    return text


def wall_bar(result: CompareResult, longest: float, width: int) -> Text:
    """A compare row's wall time as a bar (the longest row fills ``width``), split into where
    its workers' time went."""
    cells = max(1, round(result.stats.wall_s / longest * width))
    split = result.figures.breakdown
    if split is None or split.total <= 0:
        return Text("█" * cells, style="cyan")
    return bar(split, cells)
