"""The dashboard driven by its keys (Textual Pilot), with real short runs."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from textual.containers import Vertical
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from tests.conftest import leftover_children
from tests.recorded import process_pool_run, threads_run
from tui import demo
from tui.app import ConcvizApp
from tui.choices import Choices
from tui.sampler import FixedSampler
from tui.screens.compare import CompareScreen
from tui.screens.diff import DiffScreen
from tui.screens.help import HelpScreen
from tui.widgets.executor_panel import ExecutorPanel
from tui.widgets.timeline import TimelineView
from workloads import events, pyinfo
from workloads.session import RunState
from workloads.spec import available_backends

SIZE = (120, 40)


def make_app(tmp_path: Path, **choices: object) -> ConcvizApp:
    base = {"workload": "double", "backend": "thread-pool", "tasks": 4, "workers": 2}
    base.update(choices)
    return ConcvizApp(
        Choices(**base),  # type: ignore[arg-type]
        sampler=FixedSampler([40.0, 60.0]),
        output_dir=tmp_path,
    )


async def wait_for_run(pilot: Pilot[None], app: ConcvizApp, timeout: float = 60) -> RunState:
    """Await the shown run's end, its outcome taken in by the app; how it ended."""
    state = await asyncio.wait_for(app.run_ended(), timeout)
    await pilot.pause()
    return state


async def test_backend_keys_choose_the_backend(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        for key, name in zip(
            "123456",
            ("sequential", "threads", "thread-pool", "processes", "mp-pool", "process-pool"),
            strict=True,
        ):
            await pilot.press(key)
            assert app.choices.backend == name


async def test_workers_start_method_and_mode_keys(tmp_path: Path) -> None:
    app = make_app(tmp_path, backend="process-pool")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("plus")
        assert app.choices.workers == 3
        await pilot.press("minus", "minus")
        assert app.choices.workers == 1
        methods = pyinfo.available_start_methods()
        before = app.choices.effective_start_method()
        await pilot.press("m")
        after = app.choices.effective_start_method()
        assert after == methods[(methods.index(before) + 1) % len(methods)]
        await pilot.press("o")
        assert app.choices.mode == "as-completed"
        await pilot.press("o")
        assert app.choices.mode == "wait"


@pytest.mark.parametrize(
    ("backend", "lanes"),
    [
        ("sequential", 1),
        ("threads", 4),
        ("thread-pool", 2),
        ("processes", 4),
        ("mp-pool", 2),
        ("process-pool", 2),
    ],
)
async def test_r_runs_and_shows_one_lane_per_worker(
    tmp_path: Path, backend: str, lanes: int
) -> None:
    workload = "sleep" if backend in ("mp-pool", "process-pool", "thread-pool") else "double"
    app = make_app(
        tmp_path,
        backend=backend,
        workload=workload,
        params=(("scale", 0.05),) if workload == "sleep" else (),
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await wait_for_run(pilot, app)
        outcome = app.session.wait() if app.session else None
        assert app.state is RunState.FINISHED, (
            (outcome.message, outcome.log[-2000:]) if outcome else None
        )
        assert app.trace is not None
        assert len(app.trace.lanes) == lanes
        assert app.trace.stats().ok == 4
        log = app.query_one("#results")
        assert len(log.lines) == 4  # type: ignore[attr-defined]
    assert not leftover_children()


async def test_x_cancels_a_run_and_nothing_is_left(tmp_path: Path) -> None:
    app = make_app(
        tmp_path, workload="sleep", backend="process-pool", tasks=6, params=(("scale", 1.0),)
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        while app.trace is None or not app.trace.lanes:
            await pilot.pause(0.05)
        await pilot.press("x")
        await wait_for_run(pilot, app)
        assert app.state is RunState.CANCELLED
    assert not leftover_children()


async def test_b_records_a_baseline_and_the_next_run_shows_speedup(tmp_path: Path) -> None:
    app = make_app(tmp_path, workload="sleep", params=(("scale", 0.05),))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        await wait_for_run(pilot, app)
        assert app.baselines
        await pilot.press("r")
        await wait_for_run(pilot, app)
        summary = str(app.query_one("#summary").render())
        assert "speedup" in summary and "vs sequential" in summary


@pytest.mark.skipif(
    pyinfo.backend_unavailable("interpreter-pool") is None, reason="this Python has it"
)
async def test_a_backend_this_python_lacks_says_what_it_needs_and_runs_nothing(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("9")
        assert app.choices.backend == "interpreter-pool"
        said = str(app.query_one("#problem").render())
        assert "needs Python 3.14" in said
        await pilot.press("r")
        await pilot.pause()
        assert app.session is None
        await pilot.press("7")  # another backend: the message goes
        assert "3.14" not in str(app.query_one("#problem").render())


async def test_shift_s_sweeps_the_pools_chunksize_and_says_what_does_not_apply(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path, backend="process-pool", tasks=20)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("S")
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await asyncio.wait_for(screen.over(), 90)
        await pilot.pause()
        assert [(r.backend, r.value) for r in screen.results] == [
            ("sequential", None),
            ("process-pool", 1),
            ("process-pool", 10),
        ]
        assert [r.figures.chunksize for r in screen.results[1:]] == [1, 10]
        shown = str(screen.query_one("#readings").render())
        assert "speedup by chunksize" in shown and "process-pool · chunksize 10" in shown
        await pilot.press("escape")
        await pilot.press("1", "S")  # sequential has nothing to sweep: said, nothing runs
        await pilot.pause()
        assert not isinstance(app.screen, CompareScreen) and app.session is None


async def test_p_pins_a_run_and_d_shows_the_next_against_it(tmp_path: Path) -> None:
    app = make_app(tmp_path, backend="process-pool", tasks=40, chunksize=1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("D")  # nothing pinned: said, nothing opens
        assert not isinstance(app.screen, DiffScreen)
        await pilot.press("r")
        await wait_for_run(pilot, app)
        await pilot.press("P")
        assert "pinned as A" in str(app.query_one("#summary").render())
        await pilot.press("5", "r")
        await wait_for_run(pilot, app)
        summary = str(app.query_one("#summary").render())
        assert "vs A (double · process-pool" in summary
        await pilot.press("D")
        await pilot.pause()
        assert isinstance(app.screen, DiffScreen)
        lanes = str(app.screen.query_one("#diff-lanes").render())
        assert "A proc 1" in lanes and "B proc 1" in lanes and "B: double · mp-pool" in lanes
        assert "change" in str(app.screen.query_one("#diff-parts").render())
        await pilot.press("escape")
        assert not isinstance(app.screen, DiffScreen)


async def test_c_compares_every_backend_and_enter_shows_a_timeline(tmp_path: Path) -> None:
    app = make_app(tmp_path, tasks=2)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        assert isinstance(app.screen, CompareScreen)
        screen = app.screen
        await asyncio.wait_for(screen.over(), 90)
        await pilot.pause()
        assert [r.backend for r in screen.results] == [row.backend for row in screen.order]
        assert len(screen.order) == len(available_backends())
        await pilot.press("b", "4")  # nothing may run or change beside the timed runs
        assert app.session is None and app.choices.backend == "thread-pool"
        await pilot.press("down", "enter")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, CompareScreen)
        assert app.trace is not None and app.trace.info["spec"]["backend"] == "threads"
        measured = [r.outcome.trace for r in screen.results]
        await pilot.press("c")  # the same choices: the comparison reopens as it was
        again = app.screen
        assert isinstance(again, CompareScreen)
        assert [r.outcome.trace for r in again.results] == measured
        assert again.query_one(DataTable).cursor_row == 1, "the row chosen before"
        await pilot.press("down", "enter")
        assert app.trace is measured[2]
        # Its speedup is against that comparison's sequential run, as in the table.
        table_speedup = f"{again.results[2].speedup:.2f}×"
        assert f"speedup {table_speedup}" in str(app.query_one("#summary").render())
        await pilot.press("c", "r")  # r there runs it again
        again = app.screen
        assert isinstance(again, CompareScreen) and len(again.results) < 6
        await pilot.press("escape")
    assert not leftover_children()


async def test_leaving_compare_mid_run_cancels_it_and_the_dashboard_goes_on(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path, workload="sleep", tasks=2, params=(("scale", 1.0),))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await pilot.pause(0.5)
        await pilot.press("escape")  # its run ends (awaited) before the screen goes
        assert app.screen is app.screen_stack[0]
        assert screen.session is not None and screen.session.state is RunState.CANCELLED
        assert [row.backend for row in screen.order] == [r.backend for r in screen.results]
        await pilot.press("r")
        await wait_for_run(pilot, app)
        assert app.state is RunState.FINISHED
    assert not leftover_children()


async def test_the_dashboard_under_compare_does_not_repaint_the_whole_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over SSH a full repaint at 120x40 is ~20 KB: ten a second (CPU readings) swamp the link."""
    from textual._compositor import Compositor

    full = []
    render_full_update = Compositor.render_full_update

    def counted(self: Compositor, simplify: bool = False) -> object:
        full.append(1)
        return render_full_update(self, simplify)

    monkeypatch.setattr(Compositor, "render_full_update", counted)
    app = make_app(tmp_path, workload="sleep", tasks=2, params=(("scale", 2.0),))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await pilot.pause(0.3)
        full.clear()
        for _ in range(20):  # CPU readings and frames while the compare is on top
            app._sample()
            app._frame()
            await pilot.pause(0.1)
        assert len(full) <= 1, f"{len(full)} full repaints"
        await pilot.press("escape")
    assert not leftover_children()


async def test_at_80x24_the_selected_task_s_lane_is_always_on_screen(tmp_path: Path) -> None:
    trace = threads_run(16)
    app = ConcvizApp(
        Choices(), sampler=FixedSampler([10.0, 20.0]), trace=trace, output_dir=tmp_path
    )
    async with app.run_test(size=(80, 24)) as pilot:
        timeline = app.query_one(TimelineView)
        for _ in range(16):
            await pilot.press("down")
            lane = trace.lanes[trace.lane[app.selected]]  # type: ignore[index]
            shown = [timeline.render_line(y).text for y in range(timeline.size.height)]
            labels = [line.split()[0] for line in shown if line.strip()]
            assert f"t{lane.index}" in labels, (app.selected, shown)
        assert len(set(labels)) == len(labels), "compact labels stay unique"


async def test_the_layout_follows_resizes_also_made_under_compare(tmp_path: Path) -> None:
    app = make_app(tmp_path, tasks=2)
    async with app.run_test(size=SIZE) as pilot:
        dashboard = app.screen
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert dashboard.has_class("-narrow")
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await pilot.press("enter")  # mid-run: nothing to show yet, the comparison goes on
        assert app.screen is screen
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert not dashboard.has_class("-narrow") and not screen.has_class("-narrow")
        await pilot.press("escape")
    assert not leftover_children()


async def test_zoom_pan_fit_and_task_selection(tmp_path: Path) -> None:
    app = ConcvizApp(
        Choices(), sampler=FixedSampler([10.0, 20.0]), trace=process_pool_run(), output_dir=tmp_path
    )
    async with app.run_test(size=SIZE) as pilot:
        timeline = app.query_one(TimelineView)
        full = timeline.current_window()
        await pilot.press("left_square_bracket")
        zoomed = timeline.current_window()
        assert zoomed[1] - zoomed[0] < full[1] - full[0]
        await pilot.press("right")
        assert timeline.current_window()[0] > zoomed[0]
        await pilot.press("left", "left")
        await pilot.press("right_square_bracket", "right_square_bracket")
        await pilot.press("f")
        assert timeline.window is None
        await pilot.press("down")
        assert app.selected == 0
        await pilot.press("tab", "tab")
        assert app.selected == 2
        await pilot.press("up")
        assert app.selected == 1
        summary = str(app.query_one("#summary").render())
        assert "task 1" in summary and "input 2000001" in summary and "pid 47" in summary


async def test_e_exports_the_run_and_s_saves_what_the_screen_shows(tmp_path: Path) -> None:
    from workloads.replay import load_recording

    shown = process_pool_run()
    app = ConcvizApp(
        Choices(), sampler=FixedSampler([10.0, 20.0]), trace=shown, output_dir=tmp_path
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        await pilot.press("s")
        await pilot.pause(0.3)
    (trace,) = tmp_path.glob("concviz-sum-squares-process-pool-*.json")
    (svg,) = tmp_path.glob("concviz-sum-squares-process-pool-*.svg")  # named like its trace
    # The export loads back as the same run: every task, on the lane it ran on, its result.
    recording = load_recording(trace)
    ended = [e for e in recording.events if e[0] == events.TASK_FINISHED]
    assert sorted(e[1] for e in ended) == list(range(12))
    for event in ended:
        view = shown.task(event[1])
        assert view.lane is not None and event[2] == view.lane.pid
        assert event[7] == view.result
    # The screenshot is the dashboard: its panes and the run's workers are in the picture.
    picture = svg.read_text()
    assert "<svg" in picture and "timeline" in picture
    assert "4711" in picture and "4712" in picture


async def test_help_opens_and_closes(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_a_bad_value_is_refused_inline(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        box = app.query_one("#edit-workers")
        box.focus()
        box.value = "0"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        problem = str(app.query_one(ExecutorPanel).query_one("#problem").render())
        assert problem.startswith("workers must be between 1 and 256, got 0")
        assert app.choices.workers == 2
        box.value = "3"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        assert app.choices.workers == 3


async def test_q_quits_during_a_run_and_leaves_nothing(tmp_path: Path) -> None:
    app = make_app(tmp_path, workload="sleep", backend="mp-pool", tasks=4, params=(("scale", 1.0),))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        while app.trace is None or not app.trace.lanes:
            await pilot.pause(0.05)
        started = time.monotonic()
        await pilot.press("q")
    assert time.monotonic() - started < 5
    assert not leftover_children()


async def test_choosing_a_workload_from_the_list(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("w", "home", "down", "enter")
        assert app.choices.workload == "primes"
        assert app.focused is app.query_one(TimelineView), "arrows select tasks again"


async def test_the_command_palette_offers_the_same_actions(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {
            "concviz: Run",
            "concviz: Compare",
            "concviz: Backend threads",
            "concviz: Help",
        } <= titles
        command = next(
            c for c in app.get_system_commands(app.screen) if c.title == "concviz: Backend threads"
        )
        command.callback()
        await pilot.pause()
        assert app.choices.backend == "threads"


async def test_the_demo_runs_to_its_end(tmp_path: Path) -> None:
    app = ConcvizApp(
        driver=demo.script(fast=True), sampler=FixedSampler([10.0, 20.0]), output_dir=tmp_path
    )
    captions: list[str] = []
    over_compare: set[str] = set()  # what the caption said while the compare screen was up
    step1_size = ""
    async with app.run_test(size=SIZE) as pilot:
        deadline = time.monotonic() + 120
        while app.is_running and time.monotonic() < deadline:
            caption = app.screen.query_one("#caption")
            text = str(caption.render()) if caption.display else ""
            if text and (not captions or captions[-1] != text):
                captions.append(text)
            if isinstance(app.screen, CompareScreen):
                over_compare.add(text)
            elif text.startswith("1/7"):
                step1_size = app.query_one("#edit-size", Input).value
            await pilot.pause(0.05)
    assert captions[0].startswith("1/7")
    assert step1_size == "200000", "the executor pane shows the size the demo runs"
    assert [c[:3] for c in over_compare] == ["4/7"]
    assert any(c.startswith("5/7 · asyncio") for c in captions)
    assert captions[-1].startswith("7/7")
    assert app.trace is not None and app.trace.stats().ok == app.trace.count  # spawn completed
    assert not leftover_children()


def _plain(widget: object) -> str:
    return str(widget.render())  # type: ignore[attr-defined]


async def test_a_cancelled_run_shows_what_it_did_not_a_speedup(tmp_path: Path) -> None:
    app = make_app(
        tmp_path, workload="sleep", backend="process-pool", tasks=20, params=(("scale", 0.05),)
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        await wait_for_run(pilot, app)
        assert app.baselines, "the sequential baseline was measured"
        await pilot.press("r")
        while app.trace is None or app.trace.stats().ok < 1:
            await pilot.pause(0.05)
        await pilot.press("x")
        await wait_for_run(pilot, app)
        summary = _plain(app.query_one("#summary"))
        assert "cancelled after" in summary and "of 20 tasks done" in summary
        assert "no speedup" in summary
        assert "×" not in summary and "efficiency" not in summary
    assert not leftover_children()


async def test_n_edits_the_numbers_and_esc_goes_back_to_the_timeline(tmp_path: Path) -> None:
    app = make_app(tmp_path, backend="mp-pool", tasks=4)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        assert app.focused is app.query_one("#edit-workers")
        await pilot.press("down")  # to chunksize
        assert app.focused is app.query_one("#edit-chunksize")
        await pilot.press("a", "b", "c", "enter")
        await pilot.pause()
        problem = app.query_one(ExecutorPanel).query_one("#problem")
        assert _plain(problem) == "chunksize: 'abc' is not a whole number"
        assert problem.size.height >= 2, "the whole reason shows, wrapped, not cut at the edge"
        await pilot.press("escape")
        assert app.focused is app.query_one(TimelineView)
        assert app.query_one("#edit-chunksize", Input).value == "default", "the kept value"
        await pilot.press("r")  # a key, not text typed into a field
        await wait_for_run(pilot, app)
        assert app.state is RunState.FINISHED
        await pilot.press("n", "down", "3", "enter")
        await pilot.pause()
        assert app.choices.chunksize == 3
        assert _plain(problem) == "", "a valid value clears the reason"


async def test_changing_the_work_says_the_baseline_no_longer_applies(tmp_path: Path) -> None:
    app = make_app(tmp_path, workload="sleep", params=(("scale", 0.05),))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        await wait_for_run(pilot, app)
        await pilot.press("r")
        await wait_for_run(pilot, app)
        assert "speedup" in _plain(app.query_one("#summary"))
        await pilot.press("n", "down", "down", "6", "enter")  # tasks: other work
        await pilot.pause()
        assert app.choices.tasks == 6
        said = [n.message for n in app._notifications]
        assert any("baseline was measured for other work" in m for m in said), said
        # The run on screen keeps its own figures.
        assert "speedup" in _plain(app.query_one("#summary"))


async def test_at_80x24_the_timeline_has_the_room_and_v_brings_the_panes_back(
    tmp_path: Path,
) -> None:
    app = ConcvizApp(
        Choices(), sampler=FixedSampler([10.0, 20.0]), trace=threads_run(16), output_dir=tmp_path
    )
    async with app.run_test(size=(80, 24)) as pilot:
        timeline = app.query_one(TimelineView)
        shown = [timeline.render_line(y).text for y in range(timeline.size.height)]
        lanes = [line for line in shown if line.startswith("t")]
        assert len(lanes) >= 12, shown
        assert not app.query_one("#left").display
        await pilot.press("v")
        await pilot.pause()
        assert app.query_one("#left").display and app.query_one("#results-pane").display
        await pilot.press("v")
        await pilot.pause()
        assert not app.query_one("#left").display
        await pilot.press("w")  # picking a workload brings the list back
        await pilot.pause()
        assert app.query_one("#left").display


async def test_the_dashboard_runs_and_compares_the_users_own_function(tmp_path: Path) -> None:
    target = str(Path(__file__).parent / "sample_targets.py") + ":where"
    app = ConcvizApp(
        Choices(workload="target", target=target, inputs="[1, 2, 3]", workers=2),
        sampler=FixedSampler([10.0, 20.0]),
        output_dir=tmp_path,
    )
    async with app.run_test(size=SIZE) as pilot:
        assert "where" in _plain(app.query_one("#note"))
        await pilot.press("r")
        await wait_for_run(pilot, app)
        assert app.state is RunState.FINISHED
        assert app.trace is not None and app.trace.stats().ok == 3
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await asyncio.wait_for(screen.over(), 90)
        await pilot.pause()
        assert [r.stats.ok for r in screen.results] == [3] * len(available_backends())
        columns = [str(c.label) for c in screen.query_one(DataTable).columns.values()]
        assert "chunks" in columns, "the chunksize each backend really used"
        assert "sample_targets.py:where" in str(screen.query_one(Vertical).border_title)
        advice = _plain(screen.query_one("#advice"))
        assert advice.startswith("→ ") and ("use " in advice or "stay sequential" in advice)
        await pilot.press("escape")
        await pilot.press("w", "down", "enter")  # another workload, and back to the function
        assert app.choices.workload == "sum-squares"
        await pilot.press("w", "home", "enter")
        assert app.choices.on_target
    assert not leftover_children()


async def test_r_in_a_replay_plays_it_again_from_the_start(tmp_path: Path) -> None:
    from workloads.export import write_chrome_trace
    from workloads.replay import load_recording

    path = write_chrome_trace(process_pool_run(), tmp_path / "run.json")
    app = ConcvizApp(
        replay=load_recording(path), speed=2, sampler=FixedSampler([10.0]), output_dir=tmp_path
    )
    async with app.run_test(size=SIZE) as pilot:
        assert await asyncio.wait_for(app.run_ended(), 30) is RunState.FINISHED
        assert app.trace is not None and app.trace.stats().ok == 12
        await pilot.press("r")
        assert app.replaying
        assert app.trace.stats().ok < 12, "from the start"
        assert await asyncio.wait_for(app.run_ended(), 30) is RunState.FINISHED
        assert app.trace.stats().ok == 12


async def test_the_dashboard_says_which_task_left_a_process_running(tmp_path: Path) -> None:
    target = str(Path(__file__).parent / "sample_targets.py") + ":leave_popen"
    app = ConcvizApp(
        Choices(workload="target", target=target, inputs="[5]", backend="sequential"),
        sampler=FixedSampler([10.0]),
        output_dir=tmp_path,
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await wait_for_run(pilot, app)
        said = [n.message for n in app._notifications]
        assert any("task 0 left pid" in m and "sleep 301" in m for m in said), said
        log = "\n".join(line.text for line in app.query_one("#results").lines)  # type: ignore[attr-defined]
        assert "task 0 left pid" in log
    assert not leftover_children()
