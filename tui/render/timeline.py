"""Provides the timeline renderer: one row of glyphs per lane, bars per task, and a time axis.

A bar covers its task from start to end with eighth-block precision at its ends. Each cell is
computed from the lane's time index, so a frame costs the same for ten tasks or a million. Its
fill says how much of that time the task spent on a CPU: solid when it computed throughout,
shaded when it waited (for the GIL, a lock, the network), a line (━) when nobody measured it.

Back-to-back tasks are told apart by the glyphs themselves, not only by colour (a plain-text
capture or a monochrome terminal has none): where a task starts while the lane was busy right
before it, the half cell holding that boundary is left blank. Neighbouring tasks also alternate
two styles for terminals that do show colour.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from workloads import events
from workloads.trace import UNSET, LaneIndex, Trace

LEFT_EIGHTHS = " ▏▎▍▌▋▊▉█"
SHADES = ("░", "▒", "▓", "█")
UNKNOWN = "━"  # the fill of a bar whose CPU share is not known: neither computing nor waiting

# Where one task ends and the next begins inside a cell, one half of it stays blank: the ink
# half belongs to the task that starts (right) or to the one that ends (left).
STARTS_HALF = "▐"
ENDS_HALF = "▌"
UNKNOWN_STARTS_HALF = "╺"
UNKNOWN_ENDS_HALF = "╸"
TICK = "▏"

# Glyphs whose ink reaches the right edge of their cell (or all but an eighth of it, a gap too
# thin to see): a bar drawn with one of them runs on into the next cell, so a task starting
# there needs a drawn boundary to read as another bar.
_REACHES_RIGHT = frozenset((*SHADES, UNKNOWN, STARTS_HALF, UNKNOWN_STARTS_HALF, "▕", "▉"))

# Style names; callers map them to colours (rich styles, component classes).
BAR_A = "bar-a"
BAR_B = "bar-b"
ERROR = "error"
RUNNING = "running"


SELECTED = "selected"
STARTUP = "startup"
STARTING = "▞"  # a worker process starting: from its creation until it is ready for tasks
LOST = "×"  # an attempt lost with its worker (dask runs the task again elsewhere)


def shade(cpu_share: float) -> str:
    """The fill glyph for a task that spent ``cpu_share`` of its time on a CPU."""
    if cpu_share >= 0.75:
        return SHADES[3]
    if cpu_share >= 0.45:
        return SHADES[2]
    if cpu_share >= 0.15:
        return SHADES[1]
    return SHADES[0]


def _started_before(index: LaneIndex, t: float) -> int:
    """The position of the last finished task that started strictly before ``t``, or -1.

    Starts are whole nanoseconds, so "before ``t``" is "at or before ceil(t) - 1": a task
    starting exactly on a cell edge belongs to the cell on the right of that edge.
    """
    return index.at(math.ceil(t) - 1)


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
    inside it and for the tasks that start in it. A running task is drawn up to ``now_ns`` (or
    to when the run was stopped) and filled by ``running_share``, the lane's live CPU share;
    without one (none measured yet, or the run is over) its share is drawn as not known. So
    are the finished tasks of a trace recorded without CPU times (``cpu_measured`` false).

    A task that starts in a cell while the lane was busy just before (the previous task ended
    in this cell, or the previous cell is drawn up to its right edge) gets a boundary: the
    cell draws only the half on one side of the boundary, so every task reads as its own bar,
    even without colour and when tasks meet exactly on a cell edge.
    """
    if width <= 0:
        return []
    index = trace.index[lane_id]
    cpu_measured = bool(trace.info.get("cpu_measured", True))
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
    last = len(index) - 1  # the running task, if any, follows the last finished one

    def known(position: int) -> bool:
        """Whether the CPU time of the finished task at ``position`` was measured."""
        return cpu_measured and position >= 0 and index.cpu_of(position) != UNSET

    glyphs: list[str] = []
    styles: list[str | None] = []
    a = float(begin)
    busy_a, cpu_a = index.until(a)
    before_a = _started_before(index, a)
    reaches_right = False  # whether the previous cell's ink touches this cell
    for i in range(width):
        b = begin + (i + 1) * cell
        mid = (a + b) / 2
        busy_m, _ = index.until(mid)
        busy_b, cpu_b = index.until(b)
        before_b = _started_before(index, b)
        busy = busy_b - busy_a
        cpu = cpu_b - cpu_a
        left, right = busy_m - busy_a, busy_b - busy_m
        style: str | None = None
        share: float | None = cpu / busy if busy > 0 else 0.0
        if running is not None and run_end > a and run_start < b:
            overlap_l = max(0.0, min(run_end, mid) - max(run_start, a))
            overlap_r = max(0.0, min(run_end, b) - max(run_start, mid))
            if overlap_l + overlap_r >= busy:
                style = run_style
                share = running_share
            busy += overlap_l + overlap_r
            left += overlap_l
            right += overlap_r
        # The tasks starting in [a, b): finished ones in order, then perhaps the running one.
        starts = before_b - before_a
        run_starts_here = running is not None and a <= run_start < b
        if run_starts_here:
            starts += 1
            last_start = float(run_start)
            previous = last  # the task before the running one
        else:
            last_start = float(index.start_of(before_b)) if starts else 0.0
            previous = before_b - 1
        first_previous = before_a if before_a < before_b else last
        coverage = busy / cell
        if coverage < 1 / 16 and before_b > before_a:
            # Tasks too short for an eighth of a cell started here: a tick, so none is unseen.
            # A task that starts at the very end of the cell and goes on gets its tick on the
            # right, joined to the rest of its bar.
            glyph = "▕" if index.end_of(before_b) > b else TICK
            style = ERROR if index.failures_between(a, b) else BAR_A
        elif coverage < 1 / 16:
            glyph, style = " ", None
        else:
            boundary = (
                starts > 0
                and previous >= 0
                and coverage >= 0.5
                and (
                    starts >= 2
                    or (first_previous >= 0 and index.end_of(first_previous) > a)
                    or reaches_right
                )
            )
            if boundary:
                # Blank the half holding the boundary; the other half is inked by its task.
                # Several starts: the last one decides (the two halves' busy times are equal
                # up to rounding); one start: the half the starting task fills most.
                starter_inks = last_start < mid or (starts == 1 and right > left)
                if starter_inks and run_starts_here:
                    ink_known = running_share is not None
                    style = run_style
                else:
                    ink = before_b if starter_inks else previous
                    ink_known = known(ink)
                    if index.failures_between(a, b):
                        style = ERROR
                    else:
                        style = BAR_A if ink % 2 == 0 else BAR_B
                if starter_inks:
                    glyph = STARTS_HALF if ink_known else UNKNOWN_STARTS_HALF
                else:
                    glyph = ENDS_HALF if ink_known else UNKNOWN_ENDS_HALF
            else:
                if style is None:
                    position = index.at(mid) if left >= right else before_b
                    if not known(position):
                        share = None
                    if index.failures_between(a, b):
                        style = ERROR
                    else:
                        style = BAR_A if position % 2 == 0 else BAR_B
                glyph = _glyph(share, coverage, starts_inside=right > left)
            if sel_start >= 0 and sel_end > a and sel_start < b:
                style = SELECTED
        glyphs.append(glyph)
        styles.append(style)
        reaches_right = glyph in _REACHES_RIGHT
        a, busy_a, cpu_a, before_a = b, busy_b, cpu_b, before_b
    lane = trace.lanes[lane_id]
    starting = trace.lane_startup_ns(lane)
    if starting is not None and starting[1] > begin and starting[0] < end:
        # Where the lane has nothing else to draw: the worker was starting up.
        first = max(int((starting[0] - begin) / cell), 0)
        last = min(int(math.ceil((starting[1] - begin) / cell)), width)
        for i in range(first, last):
            if styles[i] is None and glyphs[i] == " ":
                glyphs[i], styles[i] = STARTING, STARTUP
    for _, lost_lane, t0, t1 in trace.lost:
        if lost_lane != lane_id or t1 <= begin or t0 >= end:
            continue
        # The attempt's worker died under it: its span, crossed out.
        first = max(int((t0 - begin) / cell), 0)
        last = min(max(int(math.ceil((t1 - begin) / cell)), first + 1), width)
        for i in range(first, last):
            glyphs[i], styles[i] = LOST, ERROR
    runs: list[tuple[str, str | None]] = []
    for glyph, style in zip(glyphs, styles, strict=True):
        if runs and runs[-1][1] == style:
            runs[-1] = (runs[-1][0] + glyph, style)
        else:
            runs.append((glyph, style))
    return runs


def _glyph(share: float | None, coverage: float, starts_inside: bool) -> str:
    """The glyph of a cell ``coverage`` busy with one task (or one side of a cell's tasks)."""
    fill = UNKNOWN if share is None else shade(share)
    if coverage >= 0.94:
        return fill
    if starts_inside:  # the bar starts inside this cell
        if coverage < 0.5:
            return "▕"
        return UNKNOWN_STARTS_HALF if fill == UNKNOWN else STARTS_HALF
    if fill == SHADES[3]:
        return LEFT_EIGHTHS[max(1, min(8, round(coverage * 8)))]
    if fill == UNKNOWN:
        return UNKNOWN if coverage >= 0.5 else UNKNOWN_ENDS_HALF
    return fill if coverage >= 0.5 else TICK


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
    trace: Trace,
    width: int,
    now_ns: int | None = None,
    label_width: int | None = None,
    window: tuple[int, int] | None = None,
) -> tuple[list[tuple[str, list[tuple[str, str | None]]]], str]:
    """Every lane as (label, glyph runs), plus the axis line, for a ``width``-cell-wide view
    (of ``window``, when given: two runs drawn on one time scale)."""
    labels = [lane.label for lane in trace.lanes]
    label_width = label_width or min(max((len(s) for s in labels), default=4), 32)
    bar_width = max(width - label_width - 1, 8)
    begin, end = window if window is not None else window_of(trace, now_ns)
    now = now_ns if now_ns is not None else end
    out = []
    for lane in trace.lanes:
        runs = render_lane(trace, lane.id, begin, end, bar_width, now)
        out.append((_fit(lane.label, label_width), runs))
    return out, " " * (label_width + 1) + axis(begin, end, bar_width)


def _fit(text: str, width: int) -> str:
    return text[:width].ljust(width) if len(text) <= width else text[: width - 1] + "…"


def legend(order: Sequence[str] = SHADES[::-1], lost: bool = False) -> str:
    """What the fills mean (``lost``: and the mark of an attempt lost with its worker)."""
    return (
        f"{order[0]} on CPU  {order[1]} mostly  {order[2]} partly  {order[3]} waiting  "
        f"{UNKNOWN} CPU not known  {STARTING} starting"
        + (f"  {LOST} lost with its worker (run again)" if lost else "")
    )
