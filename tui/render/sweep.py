"""Provides the sweep chart: speedup against the swept value, a bar per row, a mark at 1×."""

from __future__ import annotations

from rich.text import Text

from tui.render.cpu import EIGHTHS
from workloads.compare import CompareResult

ONE = "┊"  # where the bar would end at 1×: as fast as sequential


def chart(results: list[CompareResult], width: int = 32) -> list[Text]:
    """One line per swept row: backend, value, a bar as long as its speedup, the speedup."""
    rows = [r for r in results if r.knob is not None]
    if not rows:
        return []
    knob = rows[0].knob
    top = max([r.speedup or 0.0 for r in rows] + [1.0])
    name_width = max(len(r.backend) for r in rows)
    value_width = max(len(str(r.value)) for r in rows)
    one = min(round(1.0 / top * width), width - 1)
    lines = [Text(f"speedup by {knob} ({ONE} = sequential)", style="bold")]
    for r in rows:
        line = Text(f"{r.backend:<{name_width}} {r.value!s:>{value_width}} ")
        if r.speedup is None:
            line.append("—".ljust(width), style="dim")
            line.append(f" {r.outcome.status}", style="red")
            lines.append(line)
            continue
        eighths = round(r.speedup / top * width * 8)
        full, part = divmod(eighths, 8)
        cells = list("█" * full + (EIGHTHS[part] if part else ""))
        cells += [" "] * (width - len(cells))
        if cells[one] == " ":
            cells[one] = ONE
        style = "green" if r.speedup >= 1.1 else "yellow" if r.speedup >= 0.9 else "red"
        line.append("".join(cells[:width]), style=style)
        line.append(f" {r.speedup:.2f}×")
        lines.append(line)
    return lines
