"""Provides the compare screen: the workload on every backend, one row each."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from tui.render import breakdown as breakdown_bar
from tui.render import sweep as sweep_chart
from workloads import compare as comparing
from workloads import session
from workloads.spec import RunSpec, available_backends
from workloads.text import visible

COLUMNS = (
    "backend",
    "start",
    "chunks",
    "wall s",
    "",
    "speedup",
    "efficiency",
    "CPU par.",
    "status",
)
BAR_MIN_WIDTH = 100
STOP_TIMEOUT_S = 5.0
NARROW_LABELS = {"chunks": "chunk", "wall s": "wall", "efficiency": "eff.", "CPU par.": "CPU"}


@dataclass(frozen=True)
class Compared:
    """What the compare screen leaves with: its rows, the row last chosen and, when enter
    chose one to show, that row."""

    results: list[comparing.CompareResult]
    cursor: int
    complete: bool  # every backend ran to its end (a comparison worth keeping)
    chosen: comparing.CompareResult | None = None


class CompareScreen(Screen[Compared]):
    """Runs the baseline and each backend in turn; enter shows a row's timeline."""

    DEFAULT_CSS = """
    CompareScreen > Vertical { border: round $primary; padding: 0 1; }
    CompareScreen DataTable { height: auto; max-height: 12; }
    CompareScreen #compare-status { height: auto; color: $text-muted; }
    CompareScreen #readings { height: auto; }
    CompareScreen #advice { height: auto; text-style: bold; }
    CompareScreen #readings { margin-top: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "show", "Show its timeline"),
        Binding("escape", "back", "Back"),
        Binding("c", "close", "Back", show=False),  # c toggles, once it is over
        Binding("r", "run_again", "Run again"),
    ]

    class Finished(Message):
        def __init__(self, outcome: session.Outcome) -> None:
            super().__init__()
            self.outcome = outcome

    class Baseline(Message):
        """The sequential run measured ``baseline`` for the work identified by ``key``."""

        def __init__(self, key: tuple[object, ...], baseline: comparing.Baseline) -> None:
            super().__init__()
            self.key = key
            self.baseline = baseline

    def __init__(
        self,
        spec: RunSpec,
        key: tuple[object, ...] = (),
        backends: list[str] | None = None,
        results: list[comparing.CompareResult] | None = None,
        caption: str = "",
        cursor: int = 0,
        sweep: comparing.Sweep | None = None,
    ) -> None:
        """Race ``spec`` on ``backends`` (with ``sweep``: each one it applies to at every
        value); given ``results`` (a recording) it only shows them.

        ``caption``: the demo's line saying what to watch, kept above the footer.
        """
        super().__init__()
        self.caption = caption
        self.cursor = cursor  # the row last chosen (kept when the comparison reopens)
        self.spec = spec
        self.key = key
        self.sweep = sweep
        self.rows = [
            comparing.Row("sequential"),
            *comparing.plan(backends or available_backends(), sweep, explicit=False),
        ]
        self.order = list(self.rows)
        self.results: list[comparing.CompareResult] = list(results or [])
        if results is not None:
            self.order = [r.row for r in self.results]
            self.rows = list(self.order)
        self._session: session.Session | None = None
        self._baseline: comparing.Baseline | None = None
        self._bars = True
        self._over = asyncio.Event()  # set once no row is running

    @property
    def session(self) -> session.Session | None:
        """The row's run going now, if any."""
        return self._session

    async def over(self) -> list[comparing.CompareResult]:
        """Await the comparison's end (every row run, or stopped); its rows."""
        await self._over.wait()
        return self.results

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            name = self.spec.target.label if self.spec.target else self.spec.workload
            what = f"sweep {self.sweep.knob}" if self.sweep is not None else "compare"
            box.border_title = Text(f"{what} · {visible(name)} · {self.spec.tasks} tasks")
            yield self._table()
            yield Static("", id="compare-status")
            yield Static("", id="advice")  # before the readings: a short screen cuts those
            yield Static("", id="readings")
        caption = Static(self.caption, id="caption")
        caption.display = bool(self.caption)
        yield caption
        yield Footer()

    def _table(self) -> DataTable[object]:
        # Below 100 columns the wall-time bars give way: the numbers must all fit at 80×24.
        self._bars = self.app.size.width >= BAR_MIN_WIDTH
        table: DataTable[object] = DataTable(cursor_type="row", zebra_stripes=True)
        for column in COLUMNS:
            if column or self._bars:
                label = column if self._bars else NARROW_LABELS.get(column, column)
                table.add_column(label, key=column or "bar")
        return table

    def on_mount(self) -> None:
        self._redraw()
        self.query_one(DataTable).move_cursor(row=self.cursor)
        self._next()

    async def on_resize(self) -> None:
        if self._bars == (self.app.size.width >= BAR_MIN_WIDTH):
            return
        # A table's columns only ever widen: a new one fits the new width.
        old = self.query_one(DataTable)
        cursor = old.cursor_row
        await old.remove()
        table = self._table()
        await self.query_one(Vertical).mount(table, before="#compare-status")
        self._redraw()
        table.move_cursor(row=cursor)
        table.focus()

    def _next(self) -> None:
        done = len(self.results)
        if done >= len(self.order):
            self.query_one("#compare-status", Static).update(
                "done · enter: show that run's timeline · r: run again · esc: back"
            )
            self.refresh_bindings()
            self._over.set()
            return
        self._over.clear()
        row = self.order[done]
        spec = row.spec(self.spec)
        label = row.backend if row.knob is None else f"{row.backend} · {row.knob} {row.value}"
        self.query_one("#compare-status", Static).update(
            f"running {label} ({done + 1}/{len(self.order)})…"
        )

        def ended(outcome: session.Outcome) -> None:
            self.post_message(self.Finished(outcome))

        self._session = session.Session(spec, on_done=ended)
        self._session.start()

    def on_compare_screen_finished(self, message: Finished) -> None:
        outcome = message.outcome
        if not self.running:  # the run cancelled by leaving the screen
            return
        row = self.order[len(self.results)]
        if row.backend == "sequential":
            self._baseline = comparing.Baseline.of(outcome.trace, outcome.status)
            if self._baseline is not None:
                self.post_message(self.Baseline(self.key, self._baseline))
        start_method = row.spec(self.spec).start_method
        result = comparing.result_of(row.backend, start_method, outcome, self._baseline, row)
        self.results.append(result)
        self._redraw()
        self._next()

    def _redraw(self) -> None:
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        longest = max((r.stats.wall_s for r in self.results), default=0.0) or 1.0
        for r in self.results:
            bar = breakdown_bar.wall_bar(r, longest, 16)
            table.add_row(
                r.label,
                r.start_method or "",
                r.figures.chunksize_text(),
                f"{r.stats.wall_s:.3f}",
                *([bar] if self._bars else []),
                r.figures.speedup_text(),
                r.figures.efficiency_text(),
                f"{r.stats.cpu_parallelism:.2f}",
                r.figures.status_text(),
            )
        if 0 < cursor < table.row_count:
            table.move_cursor(row=cursor)
        readings = Text()
        if self._bars and self.results:
            readings.append_text(breakdown_bar.key())
            readings.append("\n")
        for line in sweep_chart.chart(self.results):
            readings.append_text(line)
            readings.append("\n")
        for r in self.results:
            readings.append(f"{r.label}: ", style="bold")
            readings.append(r.reading + "\n")
            if r.figures.breakdown is not None and r.backend != "sequential":
                readings.append(f"  {r.figures.breakdown.verdict()}\n", style="dim")
        self.query_one("#readings", Static).update(readings)
        done = bool(self.results) and not self.running
        advice = (
            comparing.recommend_sweep(self.results)
            if self.sweep is not None
            else comparing.recommend(self.results)
        )
        self.query_one("#advice", Static).update(f"→ {advice}" if done else "")

    async def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        await self.action_show()

    @property
    def running(self) -> bool:
        return len(self.results) < len(self.order)

    async def action_show(self) -> None:
        if self.running:  # a timed run is going: esc stops it first
            self.notify("Still comparing: wait for the end, or esc to stop.", timeout=3)
            return
        table = self.query_one(DataTable)
        self.cursor = table.cursor_row
        if 0 <= table.cursor_row < len(self.results):
            await self.stop()
            self.dismiss(self._leaving(self.results[table.cursor_row]))

    def _leaving(self, chosen: comparing.CompareResult | None = None) -> Compared:
        complete = self.order == self.rows and len(self.results) == len(self.order)
        return Compared(list(self.results), self.cursor, complete, chosen)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("run_again", "close"):  # once the comparison is over
            return not self.running
        return True

    async def action_close(self) -> None:
        await self.action_back()

    async def action_run_again(self) -> None:
        await self.stop()
        self.results = []
        self.order = list(self.rows)
        self._baseline = None
        self._redraw()
        self._next()
        self.refresh_bindings()

    async def action_back(self) -> None:
        await self.stop()
        self.dismiss(self._leaving())

    async def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop the row running (its processes gone, awaited off the event loop); the rows
        not run are dropped."""
        # First no row is left to run: the cancelled row's end (a message to this screen,
        # handled while this awaits) then starts no other.
        self.order = self.order[: len(self.results)]
        run = self._session
        if run is not None and not run.done:
            run.cancel()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(run.ended(), timeout)
        self._over.set()
