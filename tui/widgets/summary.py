"""Provides the summary pane: the run's numbers, the speedup, and the selected task."""

from __future__ import annotations

import re

from rich.text import Text
from textual.widgets import RichLog, Static

from tui.render import breakdown as breakdown_bar
from workloads import events
from workloads.breakdown import PARTS, Breakdown
from workloads.compare import Figures
from workloads.trace import UNSET, Trace, left_text


def _seconds(ns: int) -> str:
    return f"{ns / 1e9:.3f} s"


class SummaryPanel(Static):
    _shown: Text | None = None

    """Wall time, tasks done, parallelism, speedup against the baseline, the selected task."""

    DEFAULT_CSS = """
    SummaryPanel { height: 1fr; }
    """

    def show(
        self,
        trace: Trace | None,
        status: str,
        figures: Figures | None,
        selected: int | None,
        note: tuple[str, str] | None,
        now_ns: int,
        baseline_possible: bool = True,
        against: str | None = None,
    ) -> None:
        """Redraw from the data the app hands down; ``figures`` once the shown run has ended."""
        text = Text(no_wrap=False)
        if trace is None or not trace.info:
            text.append(status or "idle", style="bold")
            if note:
                text.append(f"\n{note[0]}\n{note[1]}", style="italic dim")
            self._update_if_changed(text)
            return
        stats = trace.stats()
        cpu_measured = trace.info.get("cpu_measured", True)  # a foreign trace may not say
        done = stats.ok + stats.errors + stats.crashed
        text.append(f"{status} ", style="bold")
        if trace.finished:
            text.append(f"wall {stats.wall_s:.2f} s")
        else:
            begin = trace.begin_ns if trace.begin_ns != UNSET else trace.t0_ns
            text.append(f"{max(now_ns - begin, 0) / 1e9:.1f} s")
        text.append(f" · {done}/{stats.tasks} tasks")
        if stats.errors:
            text.append(f" · {stats.errors} raised", style="red")
        if trace.finished and stats.wall_s:
            text.append(f" · parallelism {stats.parallelism:.2f}")
            if cpu_measured:
                text.append(f" · CPU {stats.cpu_parallelism:.2f}")
        if figures is not None:
            # Most telling first: a short pane cuts the last lines.
            if figures.speedup is not None and figures.efficiency is not None:
                text.append(
                    f"\nspeedup {figures.speedup:.2f}× vs sequential · efficiency "
                    f"{figures.efficiency:.0%} of {figures.cores} "
                    f"core{'s' if figures.cores != 1 else ''}",
                    style="bold",
                )
            elif not figures.finished:
                text.append(f"\n{figures.unfinished_text()}", style="bold")
            split = figures.breakdown
            if selected is None and split is not None and split.total > 0:
                text.append("\n")
                text.append_text(self._split_line(split))
            if selected is None and against:  # the pinned run it is shown against (P)
                text.append(f"\n{against}", style="bold")
            if selected is None and figures.finished:
                text.append(f"\n{figures.reading}", style="italic")
            if figures.loaded and "other processes" not in figures.reading:
                text.append(
                    f"\nbusy machine: other processes used {figures.outside or 0:.1f} of "
                    f"{figures.usable} cores meanwhile",
                    style="bold yellow",
                )
            if (
                figures.speedup is None
                and figures.finished
                and figures.backend != "sequential"
                and baseline_possible
            ):
                text.append("\nfor a speedup, b measures the sequential baseline", style="dim")
            if selected is None and figures.observer is not None:
                text.append(f"\n{figures.observer.text()}", style="dim")
        if selected is not None and selected < trace.count:
            view = trace.task(selected)
            lane = view.lane
            text.append(f"\ntask {selected}", style="bold")
            text.append(f" · input {view.input} · ")
            if view.error:
                text.append(view.error, style="red")
            else:
                text.append(f"→ {view.result if view.result is not None else '…'}")
            if lane is not None and lane.kind == events.LANE_CORO:  # a slot, not a thread
                text.append(f" · pid {lane.pid} · coroutine on the loop")
            elif lane is not None:
                text.append(
                    f" · pid {lane.pid}"
                    + (f"/tid {lane.tid}" if lane.tid not in (lane.pid, 0) else "")
                )
            if view.start_ns != UNSET:
                origin = trace.span_ns()[0] or view.start_ns
                if view.end_ns != UNSET:
                    end = view.end_ns
                elif trace.stopped_ns != UNSET:  # stuck until the run was stopped
                    end = trace.stopped_ns
                else:
                    end = now_ns
                text.append(
                    f" · start +{(view.start_ns - origin) / 1e9:.3f} s · took {_seconds(end - view.start_ns)}"
                )
                if cpu_measured and view.cpu_ns != UNSET and end > view.start_ns:
                    text.append(f" · CPU {view.cpu_ns / (end - view.start_ns):.0%}")
                if view.submit_ns != UNSET:
                    text.append(f" · queued {_seconds(max(view.start_ns - view.submit_ns, 0))}")
                if view.wait_ns != UNSET and view.wait_ns > 0:
                    text.append(f" · waited for a core {_seconds(view.wait_ns)}")
                if view.recv_ns != UNSET and view.end_ns != UNSET:
                    text.append(f" · returned in {_seconds(max(view.recv_ns - view.end_ns, 0))}")
                if view.in_bytes != UNSET:
                    text.append(f" · pickled in {view.in_bytes:,} B")
                if view.out_bytes != UNSET:
                    text.append(f", out {view.out_bytes:,} B")
        elif note and figures is None:  # while it runs: what to watch for
            text.append(f"\n{note[0]}", style="italic dim")
        self._update_if_changed(text)

    def _split_line(self, split: Breakdown) -> Text:
        """The run's breakdown bar and its two largest parts, on one line."""
        width = self.content_region.width or 60
        line = breakdown_bar.bar(split, max(8, min(20, width // 3)))
        shares = split.fractions()
        top = sorted(
            (p for p in PARTS if (shares[p] or 0.0) >= 0.005),
            key=lambda p: shares[p] or 0.0,
            reverse=True,
        )[:2]
        said = " · ".join(f"{shares[p] or 0.0:.0%} {split.label(p)}" for p in top)
        line.append(f" {said}")
        return line

    def _update_if_changed(self, text: Text) -> None:
        # Unchanged text must not cost a repaint (and bytes over SSH) every frame.
        if (
            self._shown is None
            or text.plain != self._shown.plain
            or text.spans != self._shown.spans
        ):
            self._shown = text
            self.update(text, layout=False)  # the pane's height is fixed: no relayout


_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+) in (?P<name>.+)$')


def _compact_frame(line: str) -> str:
    """``File "/long/path/logging/handlers.py", line 1454 in enqueue`` as
    ``logging/handlers.py:1454 in enqueue``: narrow panes keep the part that matters."""
    match = _FRAME.match(line)
    if match is None:
        return line
    path = "/".join(match["path"].split("/")[-2:])
    return f"  {path}:{match['line']} in {match['name']}"


class ResultsLog(RichLog):
    """Results in the order the parent received them: map keeps input order, as-completed not."""

    DEFAULT_CSS = """
    ResultsLog { height: 1fr; overflow-x: hidden; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, max_lines=2000, wrap=False, markup=False, highlight=False)
        self._shown = 0
        self._trace: Trace | None = None

    def follow(self, trace: Trace | None) -> None:
        """Start over for a new run."""
        self._trace = trace
        self._shown = 0
        self.clear()

    def show_stacks(self, stacks: dict[int, str]) -> None:
        """Where stuck workers were when the run stalled (their threads' Python stacks).

        The log is scrolled to the first stack's top: its innermost frames say what it waits on.
        """
        top = len(self.lines)
        for pid, stack in stacks.items():
            self.write(Text(f"where pid {pid} is stuck:", style="bold"))
            lines = stack.splitlines()
            for line in lines[:40]:
                self.write(Text(_compact_frame(line), style="dim"))
            if len(lines) > 40:
                self.write(Text(f"  … {len(lines) - 40} more lines", style="dim"))
        if stacks:
            self.call_after_refresh(self.scroll_to, y=top, animate=False)

    def show_left(self, left: list[tuple[int | None, int, str]]) -> None:
        """Processes the run's tasks left running (the run ended them)."""
        for task, pid, what in left:
            self.write(Text(f"{left_text(task, pid, what)}: ended", style="yellow"))

    def show_notes(self, lines: list[str]) -> None:
        """A few lines about the run's engine (a dask cluster: where, how, what was lost)."""
        for line in lines:
            self.write(Text(line, style="dim"))

    def catch_up(self) -> None:
        """Append the results received since the last call."""
        trace = self._trace
        if trace is None:
            return
        order = trace.recv_order
        keep = self.max_lines or len(order)
        if len(order) - self._shown > keep:
            # The log keeps its last lines only: writing a million first would take minutes.
            self._shown = len(order) - keep
        while self._shown < len(order):
            task = order[self._shown]
            if trace.status[task] in (events.PENDING, events.RUNNING) and not trace.finished:
                break  # its end is still on the way from the worker: keep the order, wait
            self._shown += 1
            line = Text(f"{self._shown:>4} ", style="dim")
            line.append(f"task {task:<4} ")
            if trace.status[task] == events.ERROR:
                said = Text(trace.errors.get(task, "error"), style="red")
            else:
                result = trace.results[task]
                said = Text(f"→ {result}" if result is not None else "→ (done)")
            lane_id = trace.lane[task]
            pid = f"  pid {trace.lanes[lane_id].pid}" if lane_id != UNSET else ""
            # Cut what does not fit with an ellipsis, so a cut number never reads as whole;
            # the pid goes first when the pane is narrow (the task's details show it all).
            width = self.scrollable_content_region.width or 80
            room = width - len(line) - len(pid)
            if room < 16:
                pid, room = "", width - len(line)
            said.truncate(max(room, 4), overflow="ellipsis")
            line.append_text(said)
            line.append(pid, style="dim")
            self.write(line)
