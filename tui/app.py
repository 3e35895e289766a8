"""Provides the concviz dashboard: panes, keys and the wiring between runs and widgets."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static

from tui import lifecycle
from tui.choices import Choices
from tui.player import Player
from tui.render.dask import dask_lines
from tui.render.diff import Side, against
from tui.sampler import CpuSample, PsutilSampler, Sampler
from tui.screens.compare import Compared, CompareScreen
from tui.screens.diff import DiffScreen
from tui.screens.help import HelpScreen
from tui.widgets.cpu_panel import CpuPanel
from tui.widgets.executor_panel import ExecutorPanel
from tui.widgets.summary import ResultsLog, SummaryPanel
from tui.widgets.timeline import TimelineView
from tui.widgets.workload_list import WorkloadList
from workloads import pyinfo, session
from workloads.compare import (
    Baseline,
    CompareResult,
    Figures,
    Sweep,
    assess,
    parse_sweep,
    plan,
)
from workloads.export import write_chrome_trace
from workloads.replay import Recording
from workloads.session import RunState
from workloads.spec import BACKENDS, PROCESS_BACKENDS, RunSpec, SpecError
from workloads.text import visible
from workloads.trace import Trace, left_text

MIN_WIDTH, MIN_HEIGHT = 60, 16
INGEST_PER_FRAME = 50_000  # events taken into the trace per frame (a few tens of ms)
RESULTS_EVERY = 8  # frames between results-log updates during a run (1 s at 8 fps)
SUMMARY_EVERY = 3  # frames between summary updates during a run
LANE_CPU_EVERY = 5  # CPU readings between updates of the lanes' CPU %
# With no run going the CPU pane reads once a second (btop reads every 2 s): still live, and
# an idle dashboard costs well under 1 % of a core instead of 4-5 %.
IDLE_SAMPLE_S = 1.0
NARROW_WIDTH = 110
STOP_TIMEOUT_S = 5.0  # a cancelled run's processes are gone well within this
SHORT_HEIGHT = 30  # below this many rows the side panes fold away by default (v toggles)


class RunEnded(Message):
    """A run is over and every process of it is gone (or a replay has handed out its last
    event)."""

    def __init__(
        self,
        outcome: session.Outcome,
        sequential: bool = False,
        key: tuple[object, ...] = (),
        baseline: Baseline | None = None,
    ) -> None:
        super().__init__()
        self.outcome = outcome
        self.sequential = sequential
        self.key = key
        self.baseline = baseline  # the one its speedup is measured against


Script = Callable[["ConcvizApp"], Awaitable[None]]


def default_sweep(spec: RunSpec) -> str:
    """What S sweeps without ``--sweep``: a process pool's chunksize in map mode (hand-over
    cost), else the workers (how many the cores take)."""
    if spec.backend in ("mp-pool", "process-pool") and spec.mode == "map":
        values = [v for v in (1, 10, 100, 1000) if v <= spec.tasks] or [1]
        return "chunksize=" + ",".join(map(str, values))
    return "workers=1,2,4,8"


def _starting_text(spec: RunSpec) -> str:
    """What the timeline says until the first task starts (spawning many workers takes a
    while: the run is not stuck)."""
    if spec.backend not in PROCESS_BACKENDS:
        return "starting…"
    count = spec.tasks if spec.backend == "processes" else spec.workers
    workers = f"{count} worker process{'es' if count != 1 else ''}"
    return f"starting {workers} ({spec.start_method})…"


def _in_words(exc: SpecError) -> str:
    """A refusal in the dashboard's words: 'workers must be …', not the CLI's '--workers'."""
    return re.sub(r"(?<![\w-])--(?=\w)", "", str(exc))


class ConcvizApp(App[None]):
    """Pick a workload and a backend, press r, watch every task run."""

    CSS_PATH = "app.tcss"
    TITLE = "concviz"

    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            Binding(key, f"backend('{name}')", f"Backend {name}", show=False)
            for key, name in zip("1234567890", BACKENDS, strict=True)
        ),
        Binding("r", "run", "Run"),
        Binding("x", "cancel", "Cancel"),
        Binding("c", "compare", "Compare"),
        Binding("b", "baseline", "Baseline"),
        Binding("S", "sweep", "Sweep", key_display="S", show=False),
        Binding("P", "pin", "Pin as A", key_display="P", show=False),
        Binding("D", "diff", "A against B", key_display="D", show=False),
        Binding("n", "edit_numbers", "Numbers"),
        Binding("v", "toggle_panes", "Panes"),
        Binding("plus,equals_sign", "workers(1)", "+Worker", key_display="+", show=False),
        Binding("minus", "workers(-1)", "-Worker", key_display="-", show=False),
        Binding("m", "start_method", "Start method"),
        Binding("o", "mode", "Mode"),
        Binding("e", "export", "Export"),
        Binding("s", "screenshot", "SVG"),
        Binding("w", "pick_workload", "Workloads", show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit_app", "Quit"),
        Binding("space", "pause", "Pause", show=False),
        Binding("ctrl+c", "quit_app", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        choices: Choices | None = None,
        sampler: Sampler | None = None,
        clock: Callable[[], int] = time.perf_counter_ns,
        trace: Trace | None = None,
        sample_interval: float = 0.1,
        fps: float = 8.0,
        output_dir: Path | None = None,
        replay: Recording | None = None,
        replay_file: str | None = None,
        speed: float = 1.0,
        driver: Script | None = None,
        sweep: str | None = None,
    ) -> None:
        """``replay``: play a recorded run at ``speed`` × its pace (0 shows it whole at once).

        ``driver``: a coroutine that drives the app through its public actions once it is up
        (the demo); it ends with the app.
        """
        super().__init__()
        self.player = Player(replay, speed) if replay is not None else None
        self.replay_file = replay_file  # a recording to load here, with the app already up
        self.speed = speed
        self._script = driver
        self.sweep_text = sweep  # what S sweeps (KNOB=V1,V2,...); None: chosen by the backend
        self.pinned: Side | None = None  # the run P pinned as "A": later runs are shown against it
        self.choices = choices or Choices()
        self._linked: Trace | None = None  # the run whose dask dashboard link was told
        self.sampler: Sampler = sampler or PsutilSampler()
        self.clock = clock
        self.trace: Trace | None = trace
        # The shown run's state, and what it is: "threads", "threads (compared)", "replayed".
        self.state = RunState.IDLE if trace is None else RunState.FINISHED
        self.label = ""
        self._settled = asyncio.Event()  # set while the shown run is not going
        self._settled.set()
        self.session: session.Session | None = None
        self.baselines: dict[tuple[object, ...], Baseline] = {}
        self.figures: Figures | None = None  # what the shown run's numbers say, once it ended
        self.selected: int | None = None
        self.sample_interval = sample_interval
        self.frame_interval = 1 / max(fps, 1)
        self.output_dir = output_dir or Path.cwd()
        if trace is not None and not trace.finished:
            self.state = RunState.RUNNING
        elif trace is not None:  # a finished run handed in (tests, screenshots)
            self.figures = assess(trace, session.FINISHED, None, trace.outside_cores)
        self._frames = 0
        self._covered = False
        self._inbox: deque[list[Any]] = deque()  # event batches from the bridge thread
        self._ended: RunEnded | None = None  # the run's end, taken once the inbox is empty
        self.caption_text = ""
        # The last finished comparison: its choices, results and the row last chosen.
        self._compared: tuple[RunSpec, list[CompareResult], int] | None = None
        self.folded: bool | None = None  # side panes folded away; None: as the size suits
        self._samples = 0
        self._sampled_at = float("-inf")  # time.monotonic() of the last CPU reading
        self._terminating = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The compare screen times its own runs: nothing else may run or change meanwhile.
        A replay only plays: nothing runs from it."""
        if any(isinstance(screen, CompareScreen) for screen in self.screen_stack):
            return action in ("screenshot", "help", "quit_app", "command_palette")
        if self.player is not None or self.replay_file:  # watched, not run (r plays again)
            return action in (
                "export",
                "screenshot",
                "help",
                "quit_app",
                "pause",
                "run",
                "toggle_panes",
            )
        return True

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The command palette offers every key's action too."""
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if not isinstance(binding, Binding) or binding.priority:
                continue
            if not self.check_action(binding.action.split("(", 1)[0], ()):
                continue
            key = binding.key_display or binding.key.split(",")[0]

            def run(action: str = binding.action) -> None:
                self.call_later(self.run_action, action)

            yield SystemCommand(f"concviz: {binding.description}", f"key {key}", run)

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="left"):
                with Vertical(id="workloads-pane", classes="pane") as pane:
                    pane.border_title = "workloads"
                    yield WorkloadList(self.choices.target, id="workloads")
                    yield Static(id="note")
                with Vertical(id="executor-pane", classes="pane") as pane:
                    pane.border_title = "executor"
                    yield ExecutorPanel(self.choices, id="executor")
            with Vertical(id="middle"):
                with Vertical(id="timeline-pane", classes="pane") as pane:
                    pane.border_title = "timeline"
                    yield TimelineView(id="timeline")
                with Vertical(id="summary-pane", classes="pane") as pane:
                    pane.border_title = "summary"
                    yield SummaryPanel(id="summary")
                with Vertical(id="results-pane", classes="pane") as pane:
                    pane.border_title = "results, in the order received"
                    yield ResultsLog(id="results")
            with Vertical(id="right", classes="pane") as pane:
                pane.border_title = "cpu"
                yield CpuPanel(id="cpu")
        yield Static(id="caption")
        yield Static(
            f"Too small: concviz needs {MIN_WIDTH}×{MIN_HEIGHT} or more.",
            id="too-small",
        )
        yield Footer()

    def on_mount(self) -> None:
        # Held directly: timers fire while another screen (help, compare) is on top.
        self.timeline = self.query_one(TimelineView)
        self.cpu = self.query_one(CpuPanel)
        self.summary = self.query_one(SummaryPanel)
        self.results = self.query_one(ResultsLog)
        self.executor = self.query_one(ExecutorPanel)
        workloads = self.query_one(WorkloadList)
        workloads.select_name(self.choices.workload)
        self._show_note()
        self.timeline.show(self.trace)
        self._invite()
        self.timeline.tick(self.clock())
        self.results.follow(self.trace)
        self.results.catch_up()
        self.timeline.focus()
        self._apply_size(self.size.width, self.size.height)
        if self.replay_file:
            self._load_in_background(self.replay_file)
        elif self.player is None:
            self._sample()
            self.set_interval(self.sample_interval, self._sample)
        else:
            self._play(self.player)
        self.set_interval(self.frame_interval, self._frame)
        self._refresh_summary()
        # An SSH drop (SIGHUP) or a kill (SIGTERM) ends the run's processes before the app.
        lifecycle.watch(self, self.terminate)
        if self._script is not None:
            self.run_worker(self._script(self), name="driver", exclusive=True)

    def caption(self, text: str) -> None:
        """A line saying what to watch, above the footer (hidden when empty): the demo's."""
        self.caption_text = text
        caption = self.query_one("#caption", Static)
        caption.update(text)
        caption.display = bool(text)

    def on_resize(self, event: events.Resize) -> None:
        self._apply_size(event.size.width, event.size.height)  # self.size is still the old one

    def _apply_size(self, width: int, height: int) -> None:
        dashboard = self.screen_stack[0]  # also when compare or help is on top
        dashboard.set_class(width < NARROW_WIDTH, "-narrow")
        dashboard.set_class(width < MIN_WIDTH or height < MIN_HEIGHT, "-tiny")
        # A small terminal gives the timeline the room; v brings the other panes back.
        small = width < NARROW_WIDTH or height < SHORT_HEIGHT
        dashboard.set_class(self.folded if self.folded is not None else small, "-folded")
        if hasattr(self, "timeline"):  # mounted
            self._invite()

    def action_toggle_panes(self) -> None:
        """Fold the workload, executor and results panes away (or back): more timeline."""
        dashboard = self.screen_stack[0]
        self.folded = not dashboard.has_class("-folded")
        self._apply_size(self.size.width, self.size.height)

    def _unfold(self) -> None:
        if self.screen_stack[0].has_class("-folded"):
            self.folded = False
            self._apply_size(self.size.width, self.size.height)

    # -- choices ----------------------------------------------------------------------------

    def _invite(self) -> None:
        """Before the first run, the timeline says what r will run (the list may be folded)."""
        if self.trace is None and self.player is None and not self.replay_file:
            choices = self.choices
            name = choices.target if choices.on_target else choices.workload
            folded = self.screen_stack[0].has_class("-folded")
            panes = "v: all panes" if folded else "v: a bigger timeline"
            self.timeline.show(
                None,
                f"Press r to run {name} on {choices.backend}."
                f" w: workloads · n: numbers · {panes} · ?: keys",
            )

    def _set_choices(self, choices: Choices) -> None:
        before = self.choices
        self.choices = choices
        self.executor.problem("")
        self.executor.show(choices)
        self._show_note()
        self._invite()
        if self.state.live and self.player is None:
            self.notify("Applies to the next run.", timeout=2)
        elif (
            before.baseline_key() in self.baselines and choices.baseline_key() not in self.baselines
        ):
            # Other work (tasks, size, workload) needs its own sequential run to compare with.
            self.notify(
                "The sequential baseline was measured for other work: b measures this one.",
                timeout=4,
            )

    def _show_note(self, name: str | None = None) -> None:
        if self.player is not None:  # a replay's note is the recording's
            return
        choices = self.choices if name is None else self.choices.with_workload(name)
        summary, lines = choices.describe_workload()
        text = visible(f"{summary}\n" + "\n".join(lines), keep="\n") if summary else ""
        self.query_one("#note", Static).update(Text(text))

    @on(OptionList.OptionHighlighted, "#workloads")
    def _workload_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_note(event.option_id)

    @on(OptionList.OptionSelected, "#workloads")
    def _workload_chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option_id:
            self._set_choices(self.choices.with_workload(event.option_id))
            self.timeline.focus()  # arrows select tasks again

    @on(ExecutorPanel.Changed)
    def _field_changed(self, event: ExecutorPanel.Changed) -> None:
        try:
            choices = self.choices.with_text(event.field, event.text)
        except SpecError as exc:
            self.executor.problem(_in_words(exc))
            self.executor.show(self.choices)  # a field left with a refused value shows the kept one
            return
        if choices != self.choices:
            self._set_choices(choices)
        else:
            self.executor.problem("")  # fixed back to what it was

    @on(ExecutorPanel.Left)
    def _field_left(self, event: ExecutorPanel.Left) -> None:
        self.timeline.focus()

    def action_edit_numbers(self) -> None:
        """Into the executor's numbers (workers, chunksize, tasks, the workload's own)."""
        self._unfold()
        self.executor.edit()

    def action_backend(self, name: str) -> None:
        self._set_choices(self.choices.with_backend(name))
        missing = pyinfo.backend_unavailable(name)
        if missing is not None:  # said at once, not first when r is pressed
            self.executor.problem(missing)

    def action_workers(self, delta: int) -> None:
        self._set_choices(self.choices.with_workers(delta))

    def action_start_method(self) -> None:
        self._set_choices(self.choices.cycle_start_method())
        if self.choices.backend not in PROCESS_BACKENDS:
            method = self.choices.effective_start_method()
            self.notify(f"Start method {method}: used once you pick a process backend.", timeout=3)

    def action_mode(self) -> None:
        self._set_choices(self.choices.cycle_mode())

    # -- runs -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """The shown run is going, or its last events are still being taken in."""
        return self.state.live

    async def run_ended(self) -> RunState:
        """Await the end of the shown run, its last events taken in (at once when none is
        going); how it ended."""
        await self._settled.wait()
        return self.state

    def _set_state(self, state: RunState, label: str | None = None) -> None:
        self.state = state
        if label is not None:
            self.label = label
        if state.live:
            self._settled.clear()
        else:
            self._settled.set()

    def status_text(self) -> str:
        """The shown run's state in words: "running threads", "finished · threads"."""
        state, label = self.state, self.label
        if state is RunState.RUNNING:
            return "replaying" if self.player is not None else f"running {label}".rstrip()
        if state is RunState.IDLE:
            return label or "idle"  # "loading"
        if state is RunState.CANCELLING:
            return "cancelling"
        return f"{state} · {label}" if label else str(state)

    def action_run(self) -> None:
        if self.replay_file and self.player is None:
            return  # still loading
        if self.player is not None:
            self._play(self.player)  # from the start again
            return
        self._start(self.choices)

    def start_run(self, choices: Choices) -> None:
        """Show ``choices`` and run them (the demo's step)."""
        self._set_choices(choices)
        self._start(choices)

    def action_baseline(self) -> None:
        self._start(self.choices.with_backend("sequential"))

    def _start(self, choices: Choices) -> None:
        if self.running:
            self.notify("A run is in progress: x cancels it.", severity="warning", timeout=3)
            return
        try:
            spec = choices.to_spec()
        except SpecError as exc:
            self.executor.problem(_in_words(exc))
            return
        key = choices.baseline_key()
        sequential = spec.backend == "sequential"
        baseline = self.baselines.get(key)

        def ended(outcome: session.Outcome) -> None:
            self.post_message(RunEnded(outcome, sequential, key, baseline))

        # The bridge thread fills run.trace; frames read it (no message per batch needed).
        # The bridge thread only hands batches over; this thread alone changes the trace.
        run = session.Session(
            spec, listener=self._inbox.append, clock=self.clock, on_done=ended, ingest=False
        )
        self.session = run
        self.trace = run.trace
        self.figures = None
        self.selected = None
        self._set_state(RunState.RUNNING, spec.backend)
        self.timeline.show(run.trace, _starting_text(spec))
        self.results.follow(run.trace)
        run.start()
        self._refresh_summary()

    def action_cancel(self) -> None:
        if self.state is RunState.RUNNING and self.session is not None and self.player is None:
            self.session.cancel()
            self._set_state(RunState.CANCELLING)
            self._refresh_summary()

    def on_run_ended(self, message: RunEnded) -> None:
        # Its last batches may still wait in the inbox: the end is taken once they are in.
        self._ended = message
        self._take_events()

    def _take_events(self, budget: int = INGEST_PER_FRAME) -> None:
        """Ingest what the bridge handed over, at most ``budget`` events at a time: a run of a
        million tasks arrives faster than one frame can take, and q must stay answered."""
        inbox = self._inbox
        trace = self.trace
        while inbox and budget > 0 and trace is not None:
            batch = inbox.popleft()
            if len(batch) > budget:
                inbox.appendleft(batch[budget:])
                batch = batch[:budget]
            trace.ingest(batch)
            budget -= len(batch)
        if trace is not None and self._linked is not trace and trace.info.get("dask"):
            self._linked = trace  # told once a run: its cluster's own dashboard, when asked for
            link = trace.info["dask"].get("dashboard")
            if link:
                self.notify(f"dask dashboard: {link}", timeout=15, markup=False)
        if not inbox and self._ended is not None:
            ended, self._ended = self._ended, None
            self._run_ended(ended)

    def _run_ended(self, message: RunEnded) -> None:
        outcome = message.outcome
        baseline = message.baseline
        if message.sequential:
            measured = Baseline.of(outcome.trace, outcome.status)
            if measured is not None:
                self.baselines[message.key] = baseline = measured
        if outcome.trace is self.trace:
            self._set_state(outcome.status)
        if outcome.status == session.STALLED and not self.caption_text:  # the caption says it
            self.notify(
                f"{outcome.message}. Stuck: "
                + (
                    ", ".join(f"task {s.task} on pid {s.pid}" for s in outcome.stuck[:4])
                    or "a worker"
                )
                + ". Try another start method (m).",
                severity="warning",
                timeout=5,  # it covers the stack pane's end; the summary keeps saying it
                markup=False,
            )
        elif outcome.status in (session.FAILED, session.CRASHED):
            self.notify(outcome.message, severity="error", timeout=8, markup=False)
        left = outcome.trace.left_behind()
        if left:  # what the tasks left running was ended with the run: say which task left what
            said = "; ".join(left_text(*item) for item in left[:3])
            more = f" and {len(left) - 3} more" if len(left) > 3 else ""
            self.notify(
                f"{said}{more}: ended with the run.", severity="warning", timeout=8, markup=False
            )
        if self.trace is outcome.trace:
            # Frozen with the run: later choices change what r runs next, not this run's figures.
            outside = outcome.outside_cores
            if outside is None:  # a replay's: recorded with its run's end
                outside = outcome.trace.outside_cores
            self.figures = assess(
                outcome.trace, outcome.status, baseline, outside, outcome.observer()
            )
            self.timeline.tick(self._now())
            self.results.catch_up()
            self.results.show_stacks(outcome.stacks)
            self.results.show_left(left)
            self.results.show_notes(dask_lines(outcome.trace))
            if outcome.stuck:  # the first stuck task, selected and its lane on screen
                self.timeline.select(outcome.stuck[0].task)
        self._refresh_summary()

    # -- periodic work ------------------------------------------------------------------------

    def _sample(self) -> None:
        now = time.monotonic()
        if not self.running and now - self._sampled_at < IDLE_SAMPLE_S - self.sample_interval / 2:
            return
        self._sampled_at = now
        lanes = self.trace.lanes if self.trace is not None else []
        pid = self.session.supervisor_pid if self.session is not None and self.running else None
        sample = self.sampler.sample(lanes, pid)
        if sample is None:
            return
        # Idle, a reading stands for the several a run would take meanwhile.
        self.cpu.add(sample, 1 if self.running else round(IDLE_SAMPLE_S / self.sample_interval))
        if self.running and self.trace is not None:
            self.trace.add_cpu_sample(self.clock(), sample.cores)  # exported with the run
        self._samples += 1
        if self._samples % LANE_CPU_EVERY == 0 or not self.timeline.lane_cpu:
            # Lane percentages change every reading; shown twice a second they stay readable
            # and each lane's line is not resent to the terminal ten times a second.
            self.timeline.lane_cpu = sample.lanes

    # -- replay -------------------------------------------------------------------------------

    class Loaded(Message):
        """A recording loaded in the background (or why it could not be)."""

        def __init__(self, recording: Recording | None, problem: str = "") -> None:
            super().__init__()
            self.recording = recording
            self.problem = problem

    def _load_in_background(self, path: str) -> None:
        """A big recording takes seconds to read: the app is up meanwhile, says what it is
        doing, and q quits at once (the loading thread dies with the process)."""
        from workloads.replay import TraceFileError, load_recording

        try:
            size = f"{os.path.getsize(path) / 2**20:,.0f} MB"
        except OSError:
            size = "?"
        self._set_state(RunState.IDLE, "loading")
        self.timeline.show(None, f"Loading {visible(Path(path).name)} ({size})… q quits.")
        self.cpu.message = "loading…"

        def load() -> None:
            try:
                self.post_message(self.Loaded(load_recording(path)))
            except TraceFileError as exc:
                self.post_message(self.Loaded(None, str(exc)))

        threading.Thread(target=load, name="concviz-load", daemon=True).start()

    def on_concviz_app_loaded(self, message: Loaded) -> None:
        if message.recording is None:
            self.exit(return_code=2, message=f"concviz: error: {visible(message.problem)}")
            return
        self.player = Player(message.recording, self.speed)
        self._play(self.player)

    def _play(self, player: Player) -> None:
        """Play ``player``'s recording from its start: its events reach the trace the way a
        live run's do, a frame's worth at a time."""
        recording = player.recording
        player.rewind()
        self._inbox.clear()
        self._ended = None
        self.trace = Trace()
        self.trace.t0_ns = recording.begin_ns
        self.figures = None
        self.selected = None
        self._set_state(RunState.RUNNING, "replayed")
        self.timeline.show(self.trace)
        self.results.follow(self.trace)
        info = recording.events[0][2] if recording.events else {}
        spec = info.get("spec") if isinstance(info, dict) else None
        spec = spec if isinstance(spec, dict) else {}
        self.executor.show_recording(spec)
        self.query_one("#executor-pane").border_title = Text(
            f"executor · {visible(Path(recording.path).name)}"
        )
        self.query_one(WorkloadList).select_name(str(spec.get("workload")))
        note = info.get("note") if isinstance(info, dict) else None
        if isinstance(note, list):
            said = "\n".join(visible(str(line)) for line in note[:2])
            self.query_one("#note", Static).update(Text(said))
        if not recording.cpu:
            self.cpu.message = "CPU not recorded"
        self._replay_step(advance=False)

    def _replay_step(self, advance: bool = True) -> None:
        player = self.player
        trace = self.trace
        if player is None or trace is None or self._ended is not None:
            return
        if advance:
            player.advance(self.frame_interval)
        batch = player.due(INGEST_PER_FRAME)
        if batch:
            self._inbox.append(batch)
        for t, cores in player.due_cpu():
            trace.add_cpu_sample(t, cores)
            self.cpu.add(CpuSample(cores=cores))
        if player.done:  # the recording's end: taken in the way a live run's end is
            self._ended = RunEnded(session.Outcome(RunState.FINISHED, trace))
        self._take_events()
        self.timeline.tick(player.clock)
        self.results.catch_up()
        self._refresh_summary()

    def action_pause(self) -> None:
        if self.player is None:
            return
        self.player.paused = not self.player.paused
        self.notify("Paused: space goes on." if self.player.paused else "Playing.", timeout=2)
        self._refresh_summary()

    @property
    def replaying(self) -> bool:
        return self.player is not None and self.state is RunState.RUNNING

    def _frame(self) -> None:
        if not self.screen_stack:  # closing
            return
        if self._inbox or self._ended is not None:
            self._take_events()
        if self.screen is not self.screen_stack[0]:
            # Compare or help is on top. Textual repaints the whole terminal for every change
            # made under another screen, so the dashboard waits (a replay pauses) until it is
            # back, then catches up at once.
            self._covered = True
            return
        if self._covered:
            self._covered = False
            self._refresh_summary()
            self.results.catch_up()
        if self.replaying:
            self._replay_step()
            return
        if self.running:
            self._frames += 1
            self.timeline.tick(self.clock())
            if self._frames % SUMMARY_EVERY == 0:
                self._refresh_summary()
            if self._frames % RESULTS_EVERY == 0:
                # A new line scrolls (repaints) the whole log: batch them, fewer bytes over SSH.
                self.results.catch_up()

    def _now(self) -> int:
        """The time shown: the recording's clock during a replay."""
        return self.player.clock if self.player is not None else self.clock()

    def _refresh_summary(self) -> None:
        note = self.choices.describe_workload()[1]
        recorded = self.trace.info.get("note") if self.trace is not None else None
        if isinstance(recorded, list) and len(recorded) >= 2:  # the shown run's own words
            note = (str(recorded[0]), str(recorded[1]))
        status = self.status_text()
        if self.replaying and self.player is not None and self.player.paused:
            status += " · paused (space goes on)"
        self.summary.show(
            self.trace,
            status,
            self.figures,
            self.selected,
            note,
            self._now(),
            baseline_possible=self.player is None,
            against=self._against(),
        )

    def _against(self) -> str | None:
        """The shown run against the pinned one (P), once both have ended."""
        pinned = self.pinned
        if pinned is None or self.trace is None or self.figures is None:
            return None
        if self.trace is pinned.trace:
            return "pinned as A: the next run is shown against it (D: both)"
        return against(pinned, Side("B", self.trace, self.figures))

    @on(TimelineView.TaskSelected)
    def _task_selected(self, event: TimelineView.TaskSelected) -> None:
        self.selected = event.task
        self._refresh_summary()

    # -- compare, export, screenshots, help, quit ------------------------------------------

    def action_compare(self) -> None:
        """Every backend on the current choices; the last finished comparison of the same
        choices reopens as it was (r there runs it again)."""
        self.open_compare()

    def action_pin(self) -> None:
        """Pin the shown, ended run as "A": the next runs are shown against it (D: both)."""
        if self.trace is None or self.figures is None:
            self.notify("Nothing to pin yet: run something first (r).", timeout=3)
            return
        self.pinned = Side("A", self.trace, self.figures)
        self.notify(
            f"Pinned {self.pinned.title} as A: the next run is shown against it; D shows both.",
            timeout=5,
            markup=False,
        )
        self._refresh_summary()

    def action_diff(self) -> None:
        """The pinned run (A) against the shown one (B): timelines on one scale, breakdowns."""
        if self.pinned is None:
            self.notify("Pin a run first: P pins the shown run as A.", timeout=3)
            return
        if self.trace is None or self.figures is None or self.trace is self.pinned.trace:
            self.notify("Run something to show against A (r), then D.", timeout=3)
            return
        self.push_screen(DiffScreen(self.pinned, Side("B", self.trace, self.figures)))

    def action_sweep(self) -> None:
        """The current backend at several values of one setting: chunksize for a process
        pool, workers for thread-pool (or what ``--sweep`` said), against one baseline."""
        backend = self.choices.backend
        if backend not in ("thread-pool", "mp-pool", "process-pool"):
            self.notify(
                "A sweep varies a pool's chunksize or workers: pick thread-pool (3), "
                "mp-pool (5) or process-pool (6).",
                severity="warning",
                timeout=5,
            )
            return
        try:
            spec = self.choices.to_spec()
            text = self.sweep_text or default_sweep(spec)
            sweep = parse_sweep(text, spec)
            plan([backend], sweep, explicit=True)
        except SpecError as exc:
            self.executor.problem(_in_words(exc))
            return
        self.open_compare(fresh=True, sweep=sweep)

    def open_compare(self, fresh: bool = False, sweep: Sweep | None = None) -> CompareScreen | None:
        """The compare screen, opened on the current choices (run anew with ``fresh``); None
        when a run is going or the choices are refused (the app says why)."""
        if self.running:
            self.notify("A run is in progress: x cancels it.", severity="warning", timeout=3)
            return None
        try:
            spec = self.choices.to_spec()
        except SpecError as exc:
            self.executor.problem(_in_words(exc))
            return None

        results, cursor = None, 0
        if self._compared is not None and self._compared[0] == spec and not fresh:
            _, results, cursor = self._compared
        screen = CompareScreen(
            spec,
            self.choices.baseline_key(),
            backends=[spec.backend] if sweep is not None else None,
            results=results,
            caption=self.caption_text,
            cursor=cursor,
            sweep=sweep,
        )

        def shown(compared: Compared | None) -> None:
            if compared is None:
                return
            if compared.complete and sweep is None:  # c reopens a comparison, not a sweep
                self._compared = (spec, compared.results, compared.cursor)
            row = compared.chosen
            if row is not None:
                # A compare row's figures are against that comparison's own sequential run.
                trace = row.outcome.trace
                self.figures = row.figures
                self.trace = trace
                self.selected = None
                self._set_state(row.outcome.status, f"{row.backend} (compared)")
                self.timeline.show(trace)
                self.results.follow(trace)
                self.results.catch_up()
                self._refresh_summary()

        self.push_screen(screen, shown)
        return screen

    @on(CompareScreen.Baseline)
    def _baseline_measured(self, event: CompareScreen.Baseline) -> None:
        self.baselines[event.key] = event.baseline

    def _file_name(self, suffix: str) -> str:
        """concviz-WORKLOAD-BACKEND-YYYYmmdd-HHMMSS.SUFFIX: a trace and its picture sort together."""
        spec = self.trace.info.get("spec", {}) if self.trace is not None else {}
        parts = [
            "concviz",
            spec.get("workload"),
            spec.get("backend"),
            time.strftime("%Y%m%d-%H%M%S"),
        ]
        # A recording names its own workload: only plain characters reach a file name.
        return "-".join(re.sub(r"[^\w.+-]", "_", str(part)) for part in parts if part) + suffix

    def action_export(self) -> None:
        if self.trace is None or not self.trace.lanes:
            self.notify("Nothing to export yet: run something first.", timeout=3)
            return
        try:
            path = write_chrome_trace(self.trace, self.output_dir / self._file_name(".json"))
        except OSError as exc:
            self.notify(f"Cannot write the trace: {exc.strerror}", severity="error")
            return
        self.notify(f"Trace written to {path}", timeout=6, markup=False)

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """An SVG of the screen, named after the shown run (or ``filename``) in the output
        folder (or ``path``)."""
        # Messages on screen (say, "Trace written to …") are not part of the picture.
        self.clear_notifications()
        self.call_after_refresh(self._save_screenshot, filename, path)

    def _save_screenshot(self, filename: str | None = None, folder: str | None = None) -> None:
        try:
            path = self.save_screenshot(
                filename or self._file_name(".svg"), folder or str(self.output_dir)
            )
        except OSError as exc:
            self.notify(f"Cannot save the screenshot: {exc.strerror}", severity="error")
            return
        self.notify(f"Screenshot saved to {path}", timeout=6, markup=False)

    def action_pick_workload(self) -> None:
        """Into the workload list: arrows move, enter picks and goes back to the timeline."""
        self._unfold()
        self.query_one(WorkloadList).focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    async def action_quit_app(self) -> None:
        await self.stop_runs()
        self.exit()

    def terminate(self, code: int = 1) -> None:
        """SIGTERM, SIGHUP or a vanished terminal: end the runs, then the app, whatever hangs
        (with its terminal gone Textual may never finish restoring it)."""
        if self._terminating:
            return
        self._terminating = True

        async def end() -> None:
            await self.stop_runs()
            lifecycle.exit_surely(self, code)

        self.run_worker(end(), name="terminate")

    def _live_sessions(self) -> list[session.Session]:
        """The runs going: the dashboard's and a comparison's."""
        found = [self.session] + [
            screen.session for screen in self.screen_stack if isinstance(screen, CompareScreen)
        ]
        return [run for run in found if run is not None and not run.done]

    async def stop_runs(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """End every run going and await (briefly) the end of its processes, without
        blocking the event loop meanwhile."""
        runs = self._live_sessions()
        for run in runs:
            run.cancel()
        if runs:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(run.ended() for run in runs)), timeout)

    def stop_runs_now(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """The same, blocking: for after the app's loop has ended."""
        runs = self._live_sessions()
        for run in runs:
            run.cancel()
        for run in runs:
            run.wait(timeout)
