"""Recorded runs: trace files read back, replayed in the dashboard, foreign and broken files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tui.app import ConcvizApp
from tui.sampler import FixedSampler
from workloads import pyinfo, session
from workloads.export import write_chrome_trace
from workloads.replay import TraceFileError, load_recording
from workloads.spec import build_spec
from workloads.trace import Trace


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[session.Outcome, Path]:
    spec = build_spec(
        workload="sleep", backend="process-pool", tasks=5, workers=2, params={"scale": 0.02}
    )
    outcome = session.run(spec, sample_cpu=True)
    path = tmp_path_factory.mktemp("rec") / "run.json"
    write_chrome_trace(outcome.trace, path)
    return outcome, path


def test_a_recorded_run_reads_back_with_the_same_lanes_and_tasks(
    recorded: tuple[session.Outcome, Path],
) -> None:
    outcome, path = recorded
    recording = load_recording(path)
    trace = Trace()
    trace.ingest(recording.events)
    assert [lane.label for lane in trace.lanes] == [lane.label for lane in outcome.trace.lanes]
    assert trace.count == outcome.trace.count == 5
    for task in range(5):
        assert trace.task(task).result == outcome.trace.task(task).result
        assert trace.task(task).lane.pid == outcome.trace.task(task).lane.pid  # type: ignore[union-attr]
    assert abs(trace.stats().cpu_s - outcome.trace.stats().cpu_s) < 0.001
    assert recording.cpu, "per-core CPU readings travel with the trace"
    data = json.loads(path.read_text())
    assert {"concviz", "python", "lanes"} <= set(data["metadata"])
    # Measured in the (spawned) supervisor, yet the interpreter's default, not "spawn".
    assert data["metadata"]["python"]["default_start_method"] == pyinfo.default_start_method()
    assert any(e["ph"] == "C" for e in data["traceEvents"])


def test_a_foreign_trace_shows_one_lane_per_pid_and_tid(tmp_path: Path) -> None:
    foreign = {
        "traceEvents": [
            {"ph": "X", "name": "fetch", "ts": 100, "dur": 50, "pid": 7, "tid": 1},
            {"ph": "X", "name": "parse", "ts": 160, "dur": 20, "pid": 7, "tid": 1},
            {"ph": "X", "name": "fetch", "ts": 110, "dur": 70, "pid": 7, "tid": 2},
            {"ph": "B", "name": "ignored", "ts": 1, "pid": 7, "tid": 1},
        ]
    }
    path = tmp_path / "viztracer.json"
    path.write_text(json.dumps(foreign))
    recording = load_recording(path)
    trace = Trace()
    trace.ingest(recording.events)
    assert recording.foreign
    assert [lane.label for lane in trace.lanes] == [
        "thread 1 · pid 7/tid 1",
        "thread 2 · pid 7/tid 2",
    ]
    assert trace.count == 3 and trace.stats().ok == 3


async def test_a_foreign_replay_claims_nothing_it_was_not_told(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(
        json.dumps({"traceEvents": [{"ph": "X", "ts": 0, "dur": 9, "pid": 1, "tid": 1}]})
    )
    app = ConcvizApp(replay=load_recording(path), speed=0, sampler=FixedSampler([1.0, 1.0]))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        summary = str(app.query_one("#summary").render())
        assert "parallelism" in summary and "CPU" not in summary  # no CPU times in the file
        assert "press b" not in summary
        assert "recorded" in str(app.query_one("#fixed").render())
        assert "other.json" in str(app.query_one("#executor-pane").border_title)
        assert app.cpu.message == "CPU not recorded"
        await pilot.press("r", "c")  # a replay is watched: nothing runs from it
        assert app.session is None and app.screen is app.screen_stack[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"traceEvents": [{"ph": "X", "ts": 1, "dur"', "is not valid JSON"),
        ('{"hello": 1}', "no traceEvents list"),
        ('{"traceEvents": [{"ph": "M", "name": "process_name"}]}', "no task spans"),
    ],
    ids=["truncated", "not-a-trace", "no-spans"],
)
def test_a_broken_file_is_one_line_and_exit_2(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(TraceFileError, match=message):
        load_recording(path)
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "replay", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr


def test_a_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "replay", str(tmp_path / "nope.json")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2 and "cannot read" in result.stderr


async def test_static_replay_shows_the_whole_run(recorded: tuple[session.Outcome, Path]) -> None:
    _, path = recorded
    app = ConcvizApp(replay=load_recording(path), speed=0, sampler=FixedSampler([1.0, 1.0]))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.trace is not None and app.trace.finished
        assert app.trace.stats().ok == 5
        assert app.status.startswith("finished")


async def test_paced_replay_plays_and_pauses(recorded: tuple[session.Outcome, Path]) -> None:
    _, path = recorded
    app = ConcvizApp(replay=load_recording(path), speed=0.05, sampler=FixedSampler([1.0, 1.0]))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        assert app.status == "replaying"
        elapsed = str(app.query_one("#summary").render()).split("replaying ", 1)[1]
        assert float(elapsed.split(" s", 1)[0]) < 1.0, "the recording's time, not the machine's"
        await pilot.press("space")
        clock = app._replay_clock
        await pilot.pause(0.3)
        assert app._replay_clock == clock, "paused"
        assert "paused" in str(app.query_one("#summary").render())
        await pilot.press("space")
        await pilot.pause(0.3)
        assert app._replay_clock > clock
