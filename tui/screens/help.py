"""Provides the help screen: every key and what it does."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: list[tuple[str, str]] = [
    ("w", "to the workload list: ↑ ↓ move, enter picks it"),
    (
        "1 … 9  0",
        "backend: sequential, threads, thread-pool, processes, mp-pool, process-pool, asyncio,"
        " loky (the loky extra), interpreter-pool (Python 3.14+); 0: dask (the dask extra)",
    ),
    ("r", "run the selected workload (again); in a replay: play it again"),
    ("x", "cancel the run: its processes are killed"),
    ("c", "compare: every backend in turn, with speedups (again: the last one; r reruns)"),
    ("S", "sweep: this pool at chunksize 1, 10, 100, 1000 (thread-pool: workers 1, 2, 4, 8)"),
    ("P  D", "pin the shown run as A; D: A against the shown run, timelines on one scale"),
    ("b", "run the sequential baseline for speedups"),
    ("n", "edit the numbers: workers, chunksize, tasks, the workload's own (↑ ↓ move, esc back)"),
    ("+  -", "one worker more / fewer"),
    ("m", "next start method: fork, spawn, forkserver"),
    ("o", "next mode: map, as-completed, wait"),
    ("[  ]", "zoom the timeline in / out"),
    ("←  →", "pan the timeline"),
    ("f", "fit the whole run"),
    ("↑  ↓  tab", "select a task: its details show below the timeline"),
    ("v", "fold the side panes away for a bigger timeline, or back (small terminals start folded)"),
    ("e", "export the run as a Chrome trace (Perfetto opens it)"),
    ("s", "save an SVG screenshot"),
    ("?", "this help"),
    ("space", "(replay) pause / go on"),
    ("q", "quit (a running run is stopped first)"),
]

READING = (
    "A bar is a task on its worker's lane; where one task ends and the next begins the bar "
    "breaks (▐ ▌). █ computing, ▓ ▒ partly, ░ waiting (for the GIL, a lock, the network), "
    "━ CPU not known (still running, stuck, or not recorded). Next to each lane: its live "
    "CPU %. Under a finished run a reading says what its numbers show: the GIL, waiting, "
    "start-up cost, or a machine busy with other work."
)


class HelpScreen(ModalScreen[None]):
    """Keys and how to read the screen."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 80; max-width: 100%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        for key, meaning in KEYS:
            table.add_row(key, meaning)
        with VerticalScroll() as scroll:
            scroll.border_title = "concviz keys"
            yield Static(table)
            yield Static("\n" + READING)
