"""Where the time goes: the breakdown of real runs names the part a reader must act on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from workloads import breakdown, events, pyinfo, ring, session
from workloads.replay import load_recording
from workloads.spec import build_spec
from workloads.trace import Trace


def split_of(**kwargs: object) -> breakdown.Breakdown:
    outcome = session.run(build_spec(**kwargs))  # type: ignore[arg-type]
    assert outcome.status == session.FINISHED, outcome.message
    return breakdown.breakdown(outcome.trace)


def test_cpu_bound_threads_lose_their_time_to_the_gil(no_leftovers: None) -> None:
    split = split_of(
        workload="sum-squares", backend="thread-pool", workers=2, tasks=6, params={"size": 400_000}
    )
    assert split.largest_loss() == "blocked"
    assert split.blocked_by == "GIL"
    assert "GIL" in split.verdict()


def test_more_busy_processes_than_cores_wait_for_a_core(no_leftovers: None) -> None:
    workers = 2 * pyinfo.usable_cpus()
    split = split_of(
        workload="sum-squares",
        backend="process-pool",
        start_method="fork",  # the cores, not the start-up (3.14 defaults to forkserver)
        workers=workers,
        tasks=2 * workers,
        params={"size": 400_000},
    )
    assert split.waiting_for_core is not None, "Linux reports run-queue time"
    assert split.largest_loss() == "waiting_for_core"
    assert "waiting for a core" in split.verdict()


def test_tiny_tasks_one_by_one_to_a_pool_lose_their_time_to_dispatch(no_leftovers: None) -> None:
    split = split_of(workload="double", backend="process-pool", workers=2, tasks=2000, chunksize=1)
    assert split.largest_loss() == "dispatch"
    assert "dispatch" in split.verdict()


def test_sleeping_tasks_are_blocked_on_io_with_the_cpu_idle(no_leftovers: None) -> None:
    split = split_of(
        workload="sleep", backend="thread-pool", workers=4, tasks=6, params={"scale": 0.05}
    )
    assert split.largest_loss() == "blocked"
    assert split.blocked_by == "I/O"
    assert (split.fractions()["computing"] or 0) < 0.1


def test_run_json_has_the_breakdown_each_tasks_phases_start_up_and_the_observer(
    cli_env: dict[str, str],
) -> None:
    def run_json(backend: str) -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, "-m", "tui.cli", "run", "-w", "sum-squares", "--size", "100000", "-b", backend, "--tasks", "6", "--json"],
            capture_output=True, text=True, env=cli_env, timeout=90, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    pooled, threaded = run_json("process-pool"), run_json("thread-pool")
    for data in (pooled, threaded):
        parts = data["breakdown"]
        assert isinstance(parts, dict)
        assert set(parts) == set(breakdown.PARTS)
        assert abs(sum(v for v in parts.values() if v is not None) - 1) <= 0.02
        assert parts["waiting_for_core"] is not None  # tasks of ms: their run-queue time is read
        for task in data["results"]:  # type: ignore[union-attr]
            for key in ("queued_s", "cpu_s", "runqueue_s", "blocked_s", "returned_s"):
                assert isinstance(task[key], float) and task[key] >= 0, (key, task)
    assert all(t["input_bytes"] > 0 and t["result_bytes"] > 0 for t in pooled["results"])  # type: ignore[union-attr, index]
    assert all(t["input_bytes"] is None and t["result_bytes"] is None for t in threaded["results"])  # type: ignore[union-attr, index]
    for data in (pooled, threaded):  # what watching cost: measured, not assumed
        seen = data["observer"]
        assert isinstance(seen, dict)
        assert seen["probe_us_per_task"] > 0 and seen["events"] >= 12
        assert seen["events_per_s"] > 0 and seen["parent_cpu_cores"] >= 0
    assert all(lane["startup_s"] > 0 for lane in pooled["lanes"])  # type: ignore[union-attr, index]
    assert all(lane["startup_s"] is None for lane in threaded["lanes"])  # type: ignore[union-attr, index]


def test_a_result_longer_than_one_record_comes_back_whole(tmp_path: object) -> None:
    writer = ring.Writer(tmp_path)  # type: ignore[arg-type]
    long = "x" * 150 + "end"
    writer.done(3, 1, 10, 20, 5, events.OK, long, 2, 40, 50)
    writer.done(4, 1, 20, 30, 5, events.OK, "short", 0, 40, 50)
    reader = ring.Reader(str(writer.path), writer.pid)
    got = ring.decode(reader.read())
    assert [(e[1], e[8], e[10], e[11], e[12]) for e in got] == [  # type: ignore[misc]
        (3, long, 2, 40, 50),
        (4, "short", 0, 40, 50),
    ]
    reader.close()
    writer.close()


def test_a_chunksize_sweep_runs_each_value_and_charts_speedup(cli_env: dict[str, str]) -> None:
    def compare(*extra: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "tui.cli", "compare", "-w", "double", "--tasks", "300"]
        argv += ["--backends", "process-pool", "--sweep", "chunksize=1,100", *extra]
        done = subprocess.run(
            argv, capture_output=True, text=True, env=cli_env, timeout=120, stdin=subprocess.DEVNULL
        )
        assert done.returncode == 0, done.stderr
        return done

    rows = json.loads(compare("--json").stdout)["results"]
    assert [(r["backend"], r.get("sweep"), r.get("value")) for r in rows] == [
        ("sequential", None, None),
        ("process-pool", "chunksize", 1),
        ("process-pool", "chunksize", 100),
    ]
    assert [r["chunksize"] for r in rows[1:]] == [1, 100]  # what the pool really used
    shown = compare().stdout
    assert "speedup by chunksize" in shown
    assert "process-pool · chunksize 100" in shown


def test_diff_shows_two_recorded_runs_on_one_scale_with_each_parts_change(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    def concviz(*argv: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "tui.cli", *argv],
            capture_output=True, text=True, env=cli_env, timeout=90, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        return done

    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for path, chunks in ((a, "1"), (b, "50")):
        argv = ["run", "-w", "double", "-b", "process-pool", "--tasks", "200", "--chunksize"]
        assert concviz(*argv, chunks, "--trace", str(path)).returncode == 0
    recorded = Trace()  # what a trace file keeps of each task's costs and each worker's start
    recorded.ingest(load_recording(a).events)
    sized = [t for t in range(200) if recorded.in_bytes[t] > 0 and recorded.out_bytes[t] > 0]
    assert len(sized) >= 200 // 16  # µs-long tasks: one in 16 sized (pickling costs as much)
    assert all(recorded.submit[t] != -1 for t in range(200))
    assert all(recorded.startup_ns(lane.pid) is not None for lane in recorded.lanes)
    shown = concviz("diff", str(a), str(b))
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "A: double · process-pool" in out and "chunksize 50" in out
    assert "A proc 1" in out and "B proc 1" in out  # both runs' lanes, one above the other
    assert "dispatch" in out and "points" in out
    data = json.loads(concviz("diff", str(a), str(b), "--json").stdout)
    assert data["a"]["chunksize"] == 1 and data["b"]["chunksize"] == 50
    change = data["breakdown_change"]
    assert set(change) == set(breakdown.PARTS)
    assert change["dispatch"] < 0, "bigger chunks cut the hand-over's share"
    missing = concviz("diff", str(a), str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
