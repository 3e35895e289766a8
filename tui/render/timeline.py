"""Provides the timeline renderer: one row of glyphs per lane, bars per task, and a time axis.

A bar covers its task from start to end with eighth-block precision at its ends. Its fill says
how much of that time the task spent on a CPU: solid when it computed throughout, shaded when
it waited (for the GIL, a lock, the network). Neighbouring tasks alternate two styles so that
back-to-back tasks stay distinguishable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from workloads import events
from workloads.trace import UNSET, Trace

LEFT_EIGHTHS = " ▏▎▍▌▋▊▉█"
SHADES = ("░", "▒", "▓", "█")

# Style names; callers map them to colours (rich styles, component classes).
BAR_A = "bar-a"
BAR_B = "bar-b"
ERROR = "error"
RUNNING = "running"


@dataclass(frozen=True)
class Span:
    """A task as the renderer needs it."""

    start: int
    end: int
    cpu_share: float
    style: str


def shade(cpu_share: float) -> str:
    """The fill glyph for a task that spent ``cpu_share`` of its time on a CPU."""
    if cpu_share >= 0.75:
        return SHADES[3]
    if cpu_share >= 0.45:
        return SHADES[2]
    if cpu_share >= 0.15:
        return SHADES[1]
    return SHADES[0]


def lane_spans(trace: Trace, lane_id: int, now_ns: int) -> list[Span]:
    """The spans of one lane in start order; running tasks end at ``now_ns``."""
    spans: list[tuple[int, int, float, int, int]] = []
    for task in trace.lane_tasks(lane_id):
        start = trace.start[task]
        if start == UNSET:
            continue
        end = trace.end[task]
        status = trace.status[task]
        running = end == UNSET
        finish = now_ns if running else end
        duration = max(finish - start, 1)
        cpu = trace.cpu[task]
        share = 1.0 if running or cpu == UNSET else min(cpu / duration, 1.0)
        spans.append((start, finish, share, status, task))
    spans.sort()
    out = []
    for ordinal, (start, finish, share, status, _) in enumerate(spans):
        if status in (events.ERROR, events.CRASHED, events.STALLED):
            style = ERROR
        elif status == events.RUNNING:
            style = RUNNING
        else:
            style = BAR_A if ordinal % 2 == 0 else BAR_B
        out.append(Span(start, finish, share, style))
    return out


def render_lane(
    spans: Iterable[Span], begin: int, end: int, width: int
) -> list[tuple[str, str | None]]:
    """Glyph runs for one lane over ``[begin, end)`` in ``width`` cells: (text, style or None)."""
    if width <= 0:
        return []
    cell_ns = max(end - begin, 1) / width
    glyphs = [" "] * width
    styles: list[str | None] = [None] * width
    cover = [0.0] * width
    for span in spans:
        x0 = (span.start - begin) / cell_ns
        x1 = (span.end - begin) / cell_ns
        if x1 <= 0 or x0 >= width:
            continue
        x0 = max(x0, 0.0)
        x1 = min(x1, float(width))
        fill = shade(span.cpu_share)
        first, last = int(x0), min(int(math.ceil(x1)) - 1, width - 1)
        for cell in range(first, last + 1):
            covered = min(x1, cell + 1) - max(x0, cell)
            if covered <= cover[cell]:
                continue
            cover[cell] = covered
            styles[cell] = span.style
            if covered >= 0.94:
                glyphs[cell] = fill
            elif x0 > cell:  # the bar starts inside this cell: fill its right part
                glyphs[cell] = "▐" if covered >= 0.5 else "▕"
            elif fill == SHADES[3]:
                glyphs[cell] = LEFT_EIGHTHS[max(1, round(covered * 8))]
            else:
                glyphs[cell] = fill if covered >= 0.5 else "▏"
    runs: list[tuple[str, str | None]] = []
    for glyph, style in zip(glyphs, styles, strict=True):
        if runs and runs[-1][1] == style:
            runs[-1] = (runs[-1][0] + glyph, style)
        else:
            runs.append((glyph, style))
    return runs


def nice_step(seconds: float, cells: int, min_gap: int = 10) -> float:
    """A tick step of 1, 2 or 5 times a power of ten that leaves ``min_gap`` cells per label."""
    if seconds <= 0 or cells <= 0:
        return 1.0
    raw = seconds * min_gap / cells
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return float(factor * power)
    return float(10 * power)


def format_seconds(value: float, step: float) -> str:
    """``0s``, ``0.5s``, ``1s``, ``12s``: as many decimals as the step needs, no more."""
    if value == 0:
        return "0s"
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}s"


def axis(begin: int, end: int, width: int) -> str:
    """A labelled time axis for ``width`` cells, relative to ``begin``."""
    seconds = max(end - begin, 1) / 1e9
    step = nice_step(seconds, width)
    line = [" "] * width
    tick = 0.0
    while True:
        cell = int(round(tick / seconds * width))
        if cell >= width:
            break
        label = format_seconds(tick, step)
        if cell + len(label) <= width and all(c == " " for c in line[cell : cell + len(label) + 1]):
            line[cell : cell + len(label)] = label
        tick += step
    return "".join(line)


def window_of(trace: Trace, now_ns: int | None = None) -> tuple[int, int]:
    """The time range that fits the whole run (so far)."""
    begin, end = trace.span_ns()
    starts = [t for t in trace.submit if t != UNSET]
    if trace.begin_ns == UNSET and starts:
        begin = min(begin, min(starts)) if begin else min(starts)
    if now_ns is not None and not trace.finished:
        end = max(end, now_ns)
    if end <= begin:
        end = begin + 1_000_000
    return begin, end


def rows(
    trace: Trace, width: int, now_ns: int | None = None, label_width: int | None = None
) -> tuple[list[tuple[str, list[tuple[str, str | None]]]], str]:
    """Every lane as (label, glyph runs), plus the axis line, for a ``width``-cell-wide view."""
    labels = [lane.label for lane in trace.lanes]
    label_width = label_width or min(max((len(s) for s in labels), default=4), 32)
    bar_width = max(width - label_width - 1, 8)
    begin, end = window_of(trace, now_ns)
    now = now_ns if now_ns is not None else end
    out = []
    for lane in trace.lanes:
        spans = lane_spans(trace, lane.id, now)
        out.append((_fit(lane.label, label_width), render_lane(spans, begin, end, bar_width)))
    return out, " " * (label_width + 1) + axis(begin, end, bar_width)


def _fit(text: str, width: int) -> str:
    return text[:width].ljust(width) if len(text) <= width else text[: width - 1] + "…"


def legend(order: Sequence[str] = SHADES[::-1]) -> str:
    """What the fills mean."""
    return f"{order[0]} on CPU  {order[1]} mostly  {order[2]} partly  {order[3]} waiting"
