"""Recorded runs: trace files read back, replayed in the dashboard, foreign and broken files."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import recorded as recorded_runs
from tests.conftest import ROOT
from tui.app import ConcvizApp
from tui.sampler import FixedSampler
from workloads import pyinfo, session
from workloads.export import write_chrome_trace
from workloads.replay import TraceFileError, load_recording
from workloads.session import RunState
from workloads.spec import build_spec
from workloads.trace import UNSET, Trace


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
        assert app.state is RunState.FINISHED


async def test_paced_replay_plays_and_pauses(recorded: tuple[session.Outcome, Path]) -> None:
    _, path = recorded
    app = ConcvizApp(replay=load_recording(path), speed=0.05, sampler=FixedSampler([1.0, 1.0]))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        assert app.replaying
        elapsed = str(app.query_one("#summary").render()).split("replaying ", 1)[1]
        assert float(elapsed.split(" s", 1)[0]) < 1.0, "the recording's time, not the machine's"
        await pilot.press("space")
        clock = app.player.clock
        await pilot.pause(0.3)
        assert app.player.clock == clock, "paused"
        assert "paused" in str(app.query_one("#summary").render())
        await pilot.press("space")
        await pilot.pause(0.3)
        assert app.player.clock > clock


# A profiler's trace: every Python call is a complete event nested inside its caller's on the
# same pid/tid, in float microseconds, with process and thread names as "M" events.
def _call(name: str, ts: float, dur: float, pid: int, tid: int) -> dict[str, object]:
    return {"pid": pid, "tid": tid, "ts": ts, "ph": "X", "cat": "fee", "dur": dur, "name": name}


PROFILED = {
    "traceEvents": [
        {"ph": "M", "pid": 4200, "tid": 4200, "name": "process_name", "args": {"name": "Main"}},
        {"ph": "M", "pid": 4200, "tid": 4200, "name": "thread_name", "args": {"name": "Main"}},
        {"ph": "M", "pid": 4200, "tid": 4207, "name": "thread_name", "args": {"name": "T-1"}},
        {"ph": "M", "pid": 4300, "tid": 4300, "name": "process_name", "args": {"name": "Child"}},
        # pid 4200, main thread: main() with calls three deep, then flush(), then a malformed
        # report() that starts before flush() ends.
        _call("main (/app/job.py:10)", 1000.25, 500.5, 4200, 4200),
        _call("load (/app/job.py:20)", 1001.1, 200.2, 4200, 4200),
        _call("read (/app/io.py:5)", 1002.0, 50.0, 4200, 4200),
        _call("read (/app/io.py:5)", 1060.0, 50.0, 4200, 4200),
        _call("decode (/app/io.py:30)", 1061.0, 10.0, 4200, 4200),
        # Ends a float hair after its caller: still nested.
        _call("parse (/app/job.py:40)", 1210.5, 290.2504, 4200, 4200),
        _call("flush (/app/job.py:60)", 1600.0, 40.0, 4200, 4200),
        _call("builtins.print", 1610.0, 5.0, 4200, 4200),
        _call("report (/app/job.py:70)", 1630.0, 100.0, 4200, 4200),
        _call("format (/app/job.py:80)", 1650.0, 10.0, 4200, 4200),
        # pid 4200, a second thread
        _call("worker (/app/job.py:90)", 1100.0, 300.0, 4200, 4207),
        *(_call("step (/app/job.py:95)", 1100.5 + 90 * i, 80.0, 4200, 4207) for i in range(3)),
        # pid 4300: a child process
        _call("main (/app/child.py:1)", 900.0, 800.0, 4300, 4300),
        _call("compute (/app/child.py:5)", 910.0, 300.0, 4300, 4300),
        _call("square (/app/child.py:9)", 920.0, 100.0, 4300, 4300),
        _call("compute (/app/child.py:5)", 1300.0, 300.0, 4300, 4300),
    ],
    "viztracer_metadata": {"overflow": False, "version": "1.1.1"},
}


@pytest.fixture
def profiled(tmp_path: Path) -> Trace:
    path = tmp_path / "result.json"
    path.write_text(json.dumps(PROFILED))
    recording = load_recording(path)
    assert recording.foreign
    trace = Trace()
    trace.ingest(recording.events)
    return trace


def _results(trace: Trace) -> dict[str, str]:
    return {str(trace.task(t).input): str(trace.task(t).result) for t in range(trace.count)}


def test_a_profiled_trace_shows_each_lanes_top_level_calls_as_its_tasks(profiled: Trace) -> None:
    trace = profiled
    assert {(lane.pid, lane.tid) for lane in trace.lanes} == {
        (4200, 4200),
        (4200, 4207),
        (4300, 4300),
    }
    assert sorted(str(trace.task(t).input) for t in range(trace.count)) == [
        "flush (/app/job.py:60)",
        "main (/app/child.py:1)",
        "main (/app/job.py:10)",
        "report (/app/job.py:70)",
        "worker (/app/job.py:90)",
    ]
    stats = trace.stats()
    assert stats.tasks == trace.count == 5 and stats.ok == 5
    assert {(lane.pid, lane.tid): lane.tasks for lane in trace.lanes} == {
        (4200, 4200): 3,
        (4200, 4207): 1,
        (4300, 4300): 1,
    }
    assert 0 < stats.parallelism <= len(trace.lanes)
    for index in trace.index:  # a lane runs one task at a time
        for position in range(len(index) - 1):
            assert index.end_of(position) <= index.start_of(position + 1)


def test_a_top_level_task_names_the_calls_nested_in_it(profiled: Trace) -> None:
    results = _results(profiled)
    main = results["main (/app/job.py:10)"]
    assert main.startswith("5 nested calls (depth 3): read ×2, ")
    assert {"load ×1", "decode ×1", "parse ×1"} <= set(main.split(": ", 1)[1].split(", "))
    assert "/app/" not in main, "call sites are left to the input, the line stays short"
    assert results["worker (/app/job.py:90)"] == "3 nested calls (depth 1): step ×3"
    assert results["main (/app/child.py:1)"].startswith("3 nested calls (depth 2): compute ×2")
    assert results["flush (/app/job.py:60)"] == "1 nested call (depth 1): builtins.print ×1"


def test_a_span_overlapping_the_previous_one_starts_where_that_one_ends(profiled: Trace) -> None:
    trace = profiled
    by_input = {trace.task(t).input: trace.task(t) for t in range(trace.count)}
    flush, report = by_input["flush (/app/job.py:60)"], by_input["report (/app/job.py:70)"]
    assert report.start_ns == flush.end_ns
    assert report.end_ns - flush.end_ns == 90_000  # its recorded end is kept
    assert report.result is not None
    assert report.result.startswith("1 nested call (depth 1): format ×1")
    assert "started before the previous task ended" in report.result


def test_a_profiled_trace_claims_no_cpu_time(profiled: Trace) -> None:
    trace = profiled
    assert trace.info["cpu_measured"] is False
    assert all(trace.task(t).cpu_ns == UNSET for t in range(trace.count))
    assert trace.stats().cpu_s == 0
    assert all(lane.cpu_ns == 0 for lane in trace.lanes)
    for index in trace.index:
        assert list(index.cum_cpu) == [0] * (len(index) + 1)
        assert index.until(float(index.end_of(len(index) - 1)))[1] == 0


def test_a_busy_span_is_summed_up_in_one_short_line(tmp_path: Path) -> None:
    calls = [_call("run (/app/long.py:1)", 0.0, 10_000.0, 1, 1)]
    for i in range(60):
        name = f"module_{i}.SomeRatherLongClassName.method_{i} (/app/pkg/module_{i}.py:{i + 1})"
        calls += [_call(name, 10.0 + 100 * i + k, 0.5, 1, 1) for k in range(60 - i)]
    path = tmp_path / "busy.json"
    path.write_text(json.dumps(calls))  # the array form of a Chrome trace
    trace = Trace()
    trace.ingest(load_recording(path).events)
    assert trace.count == 1
    result = str(trace.task(0).result)
    assert result.startswith(f"{sum(range(1, 61))} nested calls (depth 1): ")
    assert "module_0.SomeRatherLongClassName.method_0 ×60" in result
    assert result.endswith(", …") and len(result) <= 200 and "\n" not in result


async def test_a_profiled_replay_counts_top_level_tasks(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps(PROFILED))
    app = ConcvizApp(replay=load_recording(path), speed=0, sampler=FixedSampler([1.0, 1.0]))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        summary = str(app.query_one("#summary").render())
        assert "5/5 tasks" in summary and "CPU" not in summary
        parallelism = float(summary.split("parallelism ", 1)[1].split()[0])
        assert 0 < parallelism <= 3


def _replayed(trace: Trace, path: Path) -> Trace:
    write_chrome_trace(trace, path)
    replayed = Trace()
    replayed.ingest(load_recording(path).events)
    return replayed


@pytest.mark.parametrize("make", [recorded_runs.process_pool_run, recorded_runs.thread_run])
def test_a_concviz_run_replays_with_its_tasks_and_cpu(
    tmp_path: Path, make: Callable[[], Trace]
) -> None:
    original = make()
    replayed = _replayed(original, tmp_path / "run.json")
    assert replayed.count == original.count and replayed.info["cpu_measured"] is True
    for task in range(original.count):
        assert abs(replayed.cpu[task] - original.cpu[task]) <= 1  # µs with 3 decimals
        assert replayed.results[task] == original.results[task]
    assert [lane.tasks for lane in replayed.lanes] == [lane.tasks for lane in original.lanes]
    assert abs(replayed.stats().cpu_s - original.stats().cpu_s) < 1e-6


@pytest.mark.parametrize(
    "path", sorted((ROOT / "screenshots" / "traces").glob("*.json")), ids=lambda p: p.stem
)
def test_a_saved_concviz_trace_replays_every_task_with_its_cpu(path: Path) -> None:
    spans = [e for e in json.loads(path.read_text())["traceEvents"] if e["ph"] == "X"]
    trace = Trace()
    trace.ingest(load_recording(path).events)
    assert trace.count == trace.stats().tasks == len(spans) > 0
    assert trace.info["cpu_measured"] is True
    for span in spans:
        assert trace.cpu[span["args"]["task"]] == int(span["args"]["cpu_us"] * 1000)
    assert abs(trace.stats().cpu_s - sum(s["args"]["cpu_us"] for s in spans) / 1e6) < 1e-6
