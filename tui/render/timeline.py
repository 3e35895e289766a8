"""Provides the timeline renderer: one row of glyphs per lane, bars per task, and a time axis.

A bar covers its task from start to end with eighth-block precision at its ends. Each cell is
computed from the lane's time index, so a frame costs the same for ten tasks or a million. Its fill says
how much of that time the task spent on a CPU: solid when it computed throughout, shaded when
it waited (for the GIL, a lock, the network). Neighbouring tasks alternate two styles so that
back-to-back tasks stay distinguishable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from workloads import events
from workloads.trace import UNSET, Trace

LEFT_EIGHTHS = " ▏▎▍▌▋▊▉█"
SHADES = ("░", "▒", "▓", "█")

# Style names; callers map them to colours (rich styles, component classes).
BAR_A = "bar-a"
BAR_B = "bar-b"
ERROR = "error"
RUNNING = "running"


SELECTED = "selected"


def shade(cpu_share: float) -> str:
    """The fill glyph for a task that spent ``cpu_share`` of its time on a CPU."""
    if cpu_share >= 0.75:
        return SHADES[3]
    if cpu_share >= 0.45:
        return SHADES[2]
    if cpu_share >= 0.15:
        return SHADES[1]
    return SHADES[0]


def render_lane(
    trace: Trace,
    lane_id: int,
    begin: int,
    end: int,
    width: int,
    now_ns: int,
    running_share: float | None = None,
    selected: int | None = None,
) -> list[tuple[str, str | None]]:
    """Glyph runs for one lane over ``[begin, end)`` in ``width`` cells: (text, style or None).

    Costs O(width × log tasks): each cell asks the lane's index for the busy and CPU time
    inside it. A running task is drawn up to ``now_ns`` (or to when the run was stopped) and
    filled by ``running_share``, the lane's live CPU share, when it is known.
    """
    if width <= 0:
        return []
    index = trace.index[lane_id]
    cell = max(end - begin, 1) / width
    running = trace.running.get(lane_id)
    run_start = run_end = 0
    run_style = RUNNING
    if running is not None:
        run_start = trace.start[running]
        stopped = trace.stopped_ns if trace.stopped_ns != UNSET else now_ns
        run_end = max(stopped, run_start)
        if trace.status[running] in (events.STALLED, events.CRASHED, events.ERROR):
            run_style = ERROR
    sel_start = sel_end = -1
    if selected is not None and selected < trace.count and trace.lane[selected] == lane_id:
        sel_start = trace.start[selected]
        sel_end = trace.end[selected] if trace.end[selected] != UNSET else now_ns
    glyphs: list[str] = []
    styles: list[str | None] = []
    a = float(begin)
    busy_a, cpu_a = index.until(a)
    for i in range(width):
        b = begin + (i + 1) * cell
        mid = (a + b) / 2
        busy_m, _ = index.until(mid)
        busy_b, cpu_b = index.until(b)
        busy = busy_b - busy_a
        cpu = cpu_b - cpu_a
        left, right = busy_m - busy_a, busy_b - busy_m
        style: str | None = None
        share = cpu / busy if busy > 0 else 0.0
        if running is not None and run_end > a and run_start < b:
            overlap_l = max(0.0, min(run_end, mid) - max(run_start, a))
            overlap_r = max(0.0, min(run_end, b) - max(run_start, mid))
            if overlap_l + overlap_r >= busy:
                style = run_style
                share = running_share if running_share is not None else 1.0
            busy += overlap_l + overlap_r
            left += overlap_l
            right += overlap_r
        coverage = busy / cell
        if coverage < 1 / 16 and index.at(b) > index.at(a):
            # Tasks too short for an eighth of a cell started here: a tick, so none is unseen.
            glyphs.append("▏")
            styles.append(ERROR if index.failures_between(a, b) else BAR_A)
        elif coverage < 1 / 16:
            glyphs.append(" ")
            styles.append(None)
        else:
            if style is None:
                if index.failures_between(a, b):
                    style = ERROR
                else:
                    position = index.at(mid) if left >= right else index.at(b)
                    style = BAR_A if position % 2 == 0 else BAR_B
            fill = shade(share)
            if coverage >= 0.94:
                glyph = fill
            elif right > left:  # the bar starts inside this cell
                glyph = "▐" if coverage >= 0.5 else "▕"
            elif fill == SHADES[3]:
                glyph = LEFT_EIGHTHS[max(1, min(8, round(coverage * 8)))]
            else:
                glyph = fill if coverage >= 0.5 else "▏"
            if sel_start >= 0 and sel_end > a and sel_start < b:
                style = SELECTED
            glyphs.append(glyph)
            styles.append(style)
        a, busy_a, cpu_a = b, busy_b, cpu_b
    runs: list[tuple[str, str | None]] = []
    for glyph, style in zip(glyphs, styles, strict=True):
        if runs and runs[-1][1] == style:
            runs[-1] = (runs[-1][0] + glyph, style)
        else:
            runs.append((glyph, style))
    return runs


def nice_step(seconds: float, cells: int, min_gap: int = 8) -> float:
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


def axis(begin: int, end: int, width: int, origin: int | None = None) -> str:
    """A time axis for ``width`` cells over ``[begin, end)``, labelled in seconds since ``origin``."""
    origin = begin if origin is None else origin
    seconds = max(end - begin, 1) / 1e9
    step = nice_step(seconds, width)
    line = [" "] * width
    first = math.ceil((begin - origin) / 1e9 / step - 1e-9)
    k = first
    while True:
        tick = k * step
        cell = int(round(((origin + tick * 1e9) - begin) / 1e9 / seconds * width))
        if cell >= width:
            break
        label = format_seconds(tick, step)
        if (
            cell >= 0
            and cell + len(label) <= width
            and all(c == " " for c in line[max(cell - 1, 0) : cell + len(label) + 1])
        ):
            line[cell : cell + len(label)] = label
        k += 1
    return "".join(line)


STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def roomy(span_ns: float) -> int:
    """``span_ns`` rounded up to a step of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times 10^k."""
    if span_ns <= 0:
        return 1_000_000
    power = 10 ** math.floor(math.log10(span_ns))
    for step in STEPS:
        if step * power >= span_ns:
            return int(step * power)
    return int(10 * power)


def window_of(trace: Trace, now_ns: int | None = None) -> tuple[int, int]:
    """The time range that fits the whole run (so far).

    While a run is live the range grows in steps, not every frame: the scale and the axis
    then stay put between steps, bars grow cell by cell, and a frame repaints only what grew.
    """
    begin, end = trace.span_ns()
    if now_ns is not None and not trace.finished:
        end = max(end, now_ns)
        return begin, begin + roomy(end - begin)
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
        runs = render_lane(trace, lane.id, begin, end, bar_width, now)
        out.append((_fit(lane.label, label_width), runs))
    return out, " " * (label_width + 1) + axis(begin, end, bar_width)


def _fit(text: str, width: int) -> str:
    return text[:width].ljust(width) if len(text) <= width else text[: width - 1] + "…"


def legend(order: Sequence[str] = SHADES[::-1]) -> str:
    """What the fills mean."""
    return f"{order[0]} on CPU  {order[1]} mostly  {order[2]} partly  {order[3]} waiting"
