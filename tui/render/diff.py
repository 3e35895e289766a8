"""Provides the side-by-side view of two runs: both timelines on one time scale, one above the
other, and their breakdowns with the difference of each part (``concviz diff``, the dashboard's
pinned run)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from tui.render import breakdown as breakdown_bar
from tui.render import timeline
from tui.render.lanes import lane_line
from workloads.breakdown import PARTS
from workloads.compare import Figures
from workloads.text import visible
from workloads.trace import Trace


@dataclass(frozen=True)
class Side:
    """One of the two runs: its name (``A`` …), what it ran, its trace and its figures."""

    name: str
    trace: Trace
    figures: Figures

    @property
    def title(self) -> str:
        spec = self.trace.info.get("spec")
        spec = spec if isinstance(spec, dict) else {}
        parts = [str(spec.get("target") or spec.get("workload") or "recorded")]
        parts.append(str(spec.get("backend", self.figures.backend)))
        if spec.get("start_method"):
            parts.append(str(spec["start_method"]))
        if self.figures.backend not in ("sequential", "threads", "processes"):
            parts.append(f"{self.figures.workers} workers")
        if self.figures.chunksize is not None:
            parts.append(f"chunksize {self.figures.chunksize}")
        return visible(" · ".join(parts))


def _span(trace: Trace) -> int:
    begin, end = trace.span_ns()
    return max(end - begin, 1)


def timelines(a: Side, b: Side, width: int) -> list[Text]:
    """Both runs' lanes, each from its own start, on the scale of the longer one."""
    scale = max(_span(a.trace), _span(b.trace))
    label_width = min(
        max((len(lane.label) for side in (a, b) for lane in side.trace.lanes), default=4) + 2, 34
    )
    out: list[Text] = []
    axis = ""
    for side in (a, b):
        begin = side.trace.span_ns()[0]
        lanes, axis = timeline.rows(
            side.trace,
            width,
            label_width=label_width,
            window=(begin, begin + timeline.roomy(scale)),
        )
        out.append(Text(f"{side.name}: {side.title}", style="bold"))
        for label, runs in lanes:
            out.append(
                lane_line(f"{side.name} {label}"[:label_width].ljust(label_width) + " ", runs)
            )
    out.append(Text(axis[1:] if axis.startswith(" ") else axis, style="dim"))
    return out


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def comparison(a: Side, b: Side, bar_width: int = 40) -> list[Text]:
    """Wall times, their ratio, each breakdown as a bar, and every part with its change."""
    wall_a, wall_b = a.figures.stats.wall_s, b.figures.stats.wall_s
    out: list[Text] = []
    line = Text(f"wall {a.name} {wall_a:.3f} s · {b.name} {wall_b:.3f} s", style="bold")
    if wall_a > 0 and wall_b > 0:
        ratio = wall_a / wall_b
        faster = (
            f"{b.name} is {ratio:.2f}× faster"
            if ratio >= 1
            else f"{b.name} is {1 / ratio:.2f}× slower"
        )
        line.append(f" · {faster}")
    out.append(line)
    split_a, split_b = a.figures.breakdown, b.figures.breakdown
    for side, split in ((a, split_a), (b, split_b)):
        row = Text(f"{side.name} ")
        if split is None or split.total <= 0:
            row.append("no breakdown (no CPU times in this trace)", style="dim")
        else:
            row.append_text(breakdown_bar.bar(split, bar_width))
            row.append(f" {split.verdict()}", style="dim")
        out.append(row)
    if split_a is None or split_b is None:
        return out
    shares_a, shares_b = split_a.fractions(), split_b.fractions()
    header = Text(f"{'part':<22}{a.name:>7}{b.name:>7}  change", style="bold")
    out.append(header)
    for part in PARTS:
        va, vb = shares_a[part], shares_b[part]
        if (va or 0) < 0.005 and (vb or 0) < 0.005:
            continue
        row = Text(f"{breakdown_bar.GLYPHS[part]} ", style=breakdown_bar.STYLES[part])
        row.append(f"{split_b.label(part) if part == 'blocked' else split_a.label(part):<20}")
        row.append(f"{_share(va):>7}{_share(vb):>7}  ")
        if va is not None and vb is not None:
            points = (vb - va) * 100
            better = points > 0 if part == "computing" else points < 0
            row.append(f"{points:+.0f} points", style="green" if better and points else "")
        out.append(row)
    return out


def against(a: Side, b: Side) -> str:
    """One line for B's summary: how it compares with the pinned A, and the part of the
    breakdown that changed the most."""
    wall_a, wall_b = a.figures.stats.wall_s, b.figures.stats.wall_s
    text = f"vs {a.name} ({a.title})"
    if wall_a > 0 and wall_b > 0:
        ratio = wall_a / wall_b
        text += f": {ratio:.2f}× faster" if ratio >= 1 else f": {1 / ratio:.2f}× slower"
    split_a, split_b = a.figures.breakdown, b.figures.breakdown
    if split_a is not None and split_b is not None:
        fa, fb = split_a.fractions(), split_b.fractions()
        moved = [p for p in PARTS if fa[p] is not None and fb[p] is not None]
        if moved:
            part = max(moved, key=lambda p: abs((fb[p] or 0.0) - (fa[p] or 0.0)))
            text += f" · {split_b.label(part)} {fa[part] or 0.0:.0%} → {fb[part] or 0.0:.0%}"
    return text
