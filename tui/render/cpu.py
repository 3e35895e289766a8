"""Provides the CPU renderers: a bar per core with eighth-cell precision, and a braille graph."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import NamedTuple

EIGHTHS = " ▏▎▍▌▋▊▉█"

# A braille cell is a 2×4 grid of dots; each dot is one bit above U+2800. Listed bottom to
# top, so a column filled to n dots is the first n bits of its list OR-ed together.
BRAILLE = 0x2800
LEFT_DOTS = (0x40, 0x04, 0x02, 0x01)
RIGHT_DOTS = (0x80, 0x20, 0x10, 0x08)
DOTS_PER_CELL = 4


class Load(str, Enum):
    """How busy a core is; the pane colours bars and graphs by it (``cpu--low`` …)."""

    LOW = "low"
    MID = "mid"
    HIGH = "high"


class Run(NamedTuple):
    """Neighbouring cells of one graph row drawn in one colour; ``load`` is None for blanks."""

    text: str
    load: Load | None


def load(percent: float) -> Load:
    """The load band of a reading: the same thresholds for a core's bar and its graph."""
    if percent >= 90:
        return Load.HIGH
    if percent >= 50:
        return Load.MID
    return Load.LOW


def bar(percent: float, width: int) -> str:
    """A left-aligned bar ``width`` cells wide, filled to ``percent`` (0-100)."""
    if width <= 0:
        return ""
    eighths = round(max(0.0, min(percent, 100.0)) / 100 * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (EIGHTHS[part] if part else "")
    return text.ljust(width)


def _dots(percent: float | None, rows: int) -> int:
    """How many dots high a reading stands in a graph ``rows`` cells tall (0 draws nothing)."""
    if percent is None:
        return 0
    return int(max(0.0, min(percent, 100.0)) / 100 * rows * DOTS_PER_CELL + 0.5)


def graph(values: Sequence[float | None], width: int, rows: int = 2) -> list[list[Run]]:
    """The last ``2 × width`` readings (percent) as a braille area graph, newest on the right.

    Each cell holds two readings side by side and four levels of dots, so ``rows`` rows give
    ``4 × rows`` levels. Rows come top first. A cell's colour is the load band of the busier of
    its two readings, the same in every row, so a column reads as one colour from the bottom
    up. Missing readings (too few yet, or None) and 0 % draw blank cells, not a baseline.
    """
    if width <= 0 or rows <= 0:
        return []
    newest = list(values)[-2 * width :]
    padding: list[float | None] = [None] * (2 * width - len(newest))
    shown = padding + newest
    heights = [_dots(value, rows) for value in shown]
    bands = []
    for left, right in zip(shown[0::2], shown[1::2], strict=True):
        known = [value for value in (left, right) if value is not None]
        bands.append(load(max(known)) if known else None)
    lines = []
    for row in reversed(range(rows)):
        floor = row * DOTS_PER_CELL
        runs: list[Run] = []
        for cell, band in enumerate(bands):
            left = min(max(heights[2 * cell] - floor, 0), DOTS_PER_CELL)
            right = min(max(heights[2 * cell + 1] - floor, 0), DOTS_PER_CELL)
            char = chr(BRAILLE + sum(LEFT_DOTS[:left]) + sum(RIGHT_DOTS[:right]))
            # An empty cell is a space: some fonts draw U+2800 as faint dots.
            run = Run(char, band) if left or right else Run(" ", None)
            if runs and runs[-1].load == run.load:
                runs[-1] = Run(runs[-1].text + run.text, run.load)
            else:
                runs.append(run)
        lines.append(runs)
    return lines


def rows_per_graph(cores: int, height: int) -> tuple[int, int]:
    """Graph rows under each core's bar and under the total's, to fit ``height`` lines.

    Every core keeps its bar; the graphs shrink first (two rows, eight levels, then one row,
    four levels), then go from the cores, and the total's goes last: with many cores the bars
    say more than graphs too short to read.
    """
    for per_core, total in ((2, 2), (1, 2), (0, 2)):
        if lines_needed(cores, per_core, total) <= height:
            return per_core, total
    return 0, 0


def lines_needed(cores: int, per_core: int, total: int) -> int:
    """The pane's height: a bar line and ``per_core`` graph rows per core, then the total's."""
    return cores * (1 + per_core) + 1 + total
