"""Provides the CPU renderers: a bar per core with eighth-cell precision, and a sparkline."""

from __future__ import annotations

from collections.abc import Sequence

EIGHTHS = " ▏▎▍▌▋▊▉█"
SPARKS = "▁▂▃▄▅▆▇█"


def bar(percent: float, width: int) -> str:
    """A left-aligned bar ``width`` cells wide, filled to ``percent`` (0-100)."""
    if width <= 0:
        return ""
    eighths = round(max(0.0, min(percent, 100.0)) / 100 * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (EIGHTHS[part] if part else "")
    return text.ljust(width)


def sparkline(values: Sequence[float], width: int, top: float = 100.0) -> str:
    """The last ``width`` values as a sparkline scaled to ``top``."""
    if width <= 0:
        return ""
    shown = list(values)[-width:]
    out = []
    for value in shown:
        level = max(0.0, min(value / top, 1.0)) if top else 0.0
        out.append(SPARKS[min(len(SPARKS) - 1, int(level * (len(SPARKS) - 1) + 0.5))])
    return "".join(out).rjust(width)
