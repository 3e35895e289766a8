"""The concviz command as a user runs it: exit codes, one-line errors, JSON and traces."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def concviz(
    *args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


BAD = [
    (["run", "--workload", "nope"], "unknown workload 'nope' (choose from: sum-squares"),
    (["run", "--backend", "fibers"], "unknown backend 'fibers' (choose from: sequential"),
    (["run", "--start-method", "vfork"], "unknown start method 'vfork' (choose from: fork"),
    (["run", "--mode", "eager"], "unknown mode 'eager' (choose from: map, as-completed, wait"),
    (["run", "--workers", "0"], "--workers must be between 1 and 256, got 0"),
    (["run", "--workers", "257"], "--workers must be between 1 and 256, got 257"),
    (["run", "--chunksize", "0"], "--chunksize must be at least 1, got 0"),
    (["run", "--tasks", "-3"], "--tasks must be between 1 and"),
    (["run", "--workers", "two"], "argument --workers: invalid int value: 'two'"),
    (
        ["run", "--target", "no_such_module_xyz:f", "--inputs", "[1]"],
        "cannot import no_such_module_xyz",
    ),
    (
        ["run", "--target", "tests.sample_targets:NOT_CALLABLE", "--inputs", "[1]"],
        "'NOT_CALLABLE' is not callable",
    ),
    (["run", "--target", "tests.sample_targets:missing", "--inputs", "[1]"], "has no 'missing'"),
    (
        ["run", "--target", "tests.sample_targets:where", "--inputs", '{"a": 1}'],
        "--inputs must be a JSON array",
    ),
    (
        ["run", "--target", "tests.sample_targets:where", "--inputs", "[1,"],
        "--inputs is not valid JSON",
    ),
    (["run", "--target", "justaname"], "expected module:function"),
    (["run", "--workload", "primes", "--size", "5"], "--size does not apply to primes"),
    (["run", "--workload", "sleep", "--scale", "0"], "--scale must be at least"),
    (["compare", "--backends", "threads,bogus"], "unknown backend 'bogus' in --backends"),
    (["compare", "--sweep", "speed=1,2"], "--sweep takes KNOB=V1,V2,... with KNOB one of"),
    (["compare", "--sweep", "workers=0,2"], "--sweep workers: 0 is not between 1 and 256"),
    (
        ["compare", "--sweep", "chunksize=5", "--backends", "threads"],
        "--sweep chunksize does not apply to threads",
    ),
    (["replay", "x.json", "--speed", "inf"], "--speed must be more than 0 and at most 1000"),
    (["replay", "x.json", "--speed", "nan"], "--speed must be more than 0 and at most 1000"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, cli_env: dict[str, str]
) -> None:
    result = concviz(*args, env=cli_env, cwd=HERE.parent)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_start_method_missing_on_this_platform_is_refused(cli_env: dict[str, str]) -> None:
    import multiprocessing

    missing = {"fork", "spawn", "forkserver"} - set(multiprocessing.get_all_start_methods())
    if not missing:
        pytest.skip("every start method exists here")
    result = concviz("run", "--start-method", missing.pop(), env=cli_env)
    assert result.returncode == 2
    assert "not available on this platform" in result.stderr


def test_help_does_not_import_the_ui(cli_env: dict[str, str]) -> None:
    code = (
        "import sys; from tui import cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('textual', 'rich') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=cli_env
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert "exit codes" in result.stdout


def test_run_json_reports_lanes_and_parallelism(cli_env: dict[str, str]) -> None:
    result = concviz(
        "run", "--workload", "double", "--backend", "mp-pool", "--tasks", "6", "--json", env=cli_env
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    for key in (
        "workload",
        "backend",
        "start_method",
        "mode",
        "workers",
        "tasks",
        "ok",
        "errors",
        "wall_s",
        "busy_s",
        "cpu_s",
        "parallelism",
        "cpu_parallelism",
        "lanes",
        "python",
    ):
        assert key in data
    assert (data["tasks"], data["ok"], data["errors"]) == (6, 6, 0)
    assert data["lanes"] and {"label", "pid", "tid", "tasks", "busy_s", "cpu_s"} <= set(
        data["lanes"][0]
    )
    assert {"version", "default_start_method", "gil_enabled"} <= set(data["python"])


def test_run_prints_a_summary_and_a_timeline(cli_env: dict[str, str]) -> None:
    result = concviz(
        "run",
        "--workload",
        "sum-squares",
        "--backend",
        "threads",
        "--tasks",
        "3",
        "--size",
        "100000",
        env=cli_env,
    )
    assert result.returncode == 0, result.stderr
    assert "sum-squares on threads" in result.stdout
    assert "CPU parallelism" in result.stdout
    assert "thread 3 · pid" in result.stdout
    assert "0s" in result.stdout


def test_a_raising_task_exits_1(cli_env: dict[str, str]) -> None:
    result = concviz(
        "run",
        "--target",
        "tests.sample_targets:square_or_fail",
        "--inputs",
        "[2, 3]",
        "--backend",
        "threads",
        env=cli_env,
        cwd=HERE.parent,
    )
    assert result.returncode == 1
    assert "ValueError: three is not welcome" in result.stdout


def test_stall_exits_3(cli_env: dict[str, str]) -> None:
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs fork")
    result = concviz(
        "run",
        "--workload",
        "fork-deadlock",
        "--backend",
        "processes",
        "--start-method",
        "fork",
        "--stall-timeout",
        "1.5",
        "--tasks",
        "150",
        env=cli_env,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "stalled" in result.stdout
    assert "stuck: task" in result.stdout or "still alive when stopped: pid" in result.stdout


def test_trace_file_is_chrome_trace_json(tmp_path: Path, cli_env: dict[str, str]) -> None:
    out = tmp_path / "run.json"
    result = concviz(
        "run",
        "--workload",
        "double",
        "--backend",
        "process-pool",
        "--tasks",
        "5",
        "--trace",
        str(out),
        "--json",
        env=cli_env,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    spans = [e for e in data["traceEvents"] if e["ph"] == "X"]
    names = [e for e in data["traceEvents"] if e["ph"] == "M"]
    assert len(spans) == 5
    for span in spans:
        assert isinstance(span["pid"], int) and isinstance(span["tid"], int)
        assert span["pid"] < 100 and span["tid"] < 100
        assert {"task", "status", "result", "cpu_us", "os_pid", "os_tid"} <= set(span["args"])
    lanes = {(e["pid"], e["tid"]) for e in spans}
    thread_names = {(e["pid"], e["tid"]) for e in names if e["name"] == "thread_name"}
    assert lanes <= thread_names
    assert {e["pid"] for e in names if e["name"] == "process_name"} >= {e["pid"] for e in spans}


def test_compare_json_has_every_backend(cli_env: dict[str, str]) -> None:
    result = concviz(
        "compare",
        "--workload",
        "sleep",
        "--tasks",
        "4",
        "--scale",
        "0.05",
        "--backends",
        "thread-pool,mp-pool",
        "--json",
        env=cli_env,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["results"]
    assert [r["backend"] for r in rows] == ["sequential", "thread-pool", "mp-pool"]
    for row in rows:
        assert {
            "backend",
            "start_method",
            "wall_s",
            "speedup",
            "efficiency",
            "cpu_parallelism",
        } <= set(row)
    assert rows[0]["speedup"] == 1.0
    assert rows[1]["speedup"] > 1.3  # sleeping threads overlap


def test_list_json(cli_env: dict[str, str]) -> None:
    result = concviz("list", "--json", env=cli_env)
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert {"workloads", "backends", "start_methods", "default_start_method", "python"} <= set(data)
    names = {w["name"] for w in data["workloads"]}
    assert {
        "sum-squares",
        "primes",
        "double",
        "sleep",
        "download",
        "fork-deadlock",
        "fork-state",
    } <= names
    assert [b["name"] for b in data["backends"]] == [
        "sequential",
        "threads",
        "thread-pool",
        "processes",
        "mp-pool",
        "process-pool",
        "asyncio",
        "loky",
        "interpreter-pool",
        "dask",
    ]


def test_version(cli_env: dict[str, str]) -> None:
    result = concviz("--version", env=cli_env)
    assert result.returncode == 0
    assert result.stdout.startswith("concviz ")


def test_run_prints_the_results_in_the_order_received(cli_env: dict[str, str]) -> None:
    result = concviz(
        "run", "-w", "sleep", "-b", "thread-pool", "--workers", "5", "--tasks", "5",
        "--scale", "0.05", "--mode", "as-completed", env=cli_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "results, in the order received" in out
    assert "as-completed hands each result back as its task finishes" in out
    data = json.loads(
        concviz(
            "run", "-w", "sleep", "-b", "thread-pool", "--workers", "5", "--tasks", "5",
            "--scale", "0.05", "--json", env=cli_env,
        ).stdout
    )  # fmt: skip
    assert data["received_order"] == [0, 1, 2, 3, 4]  # map: input order
    # each printed result line names its task and what it returned, in receipt order
    lines = [line.split() for line in out.splitlines() if "→ 'Return of" in line]
    assert len(lines) == 5
    tasks = [int(words[2]) for words in lines]
    assert sorted(tasks) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_run_fork_state_prints_what_the_child_inherited(
    method: str, cli_env: dict[str, str]
) -> None:
    import multiprocessing

    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"{method} is not available here")
    result = concviz(
        "run", "-w", "fork-state", "-b", "process-pool", "--start-method", method,
        "--tasks", "2", env=cli_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    if method == "fork":
        assert "1 thread (parent 2) · logging GADZOOKS · flag from parent" in result.stdout
    else:
        assert "1 thread (parent 2) · logging unconfigured · flag default" in result.stdout


def test_compare_recommends_from_the_numbers_and_shows_real_chunksizes(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    inputs = json.dumps([0.05] * 40)
    result = concviz(
        "compare", "--target", "tests/sample_targets.py:nap", "--inputs", inputs,
        "--backends", "thread-pool,mp-pool,process-pool", "--workers", "2", "--json",
        env=cli_env, cwd=HERE.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    rows = {r["backend"]: r for r in data["results"]}
    assert rows["mp-pool"]["chunksize"] == 5  # Pool.map's own: 40 tasks / (2 workers × 4)
    assert rows["process-pool"]["chunksize"] == 1  # ProcessPoolExecutor.map's default
    assert rows["thread-pool"]["chunksize"] is None  # ThreadPoolExecutor has none
    advice = data["recommendation"]
    assert advice.startswith(("use ", "stay sequential")), advice
    if advice.startswith("use "):
        best = advice.split(":")[0].removeprefix("use ")
        assert f"{rows[best]['speedup']:.2f}×" in advice
    # The same run as a table, and its traces kept for replay.
    shown = concviz(
        "compare", "--target", "tests/sample_targets.py:nap", "--inputs", "[0.05, 0.05]",
        "--backends", "mp-pool", "--trace", str(tmp_path / "rows"),
        env=cli_env, cwd=HERE.parent,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "chunks" in shown.stdout and "→ " in shown.stdout
    kept = sorted(p.name for p in (tmp_path / "rows").iterdir())
    assert kept == ["concviz-nap-mp-pool.json", "concviz-nap-sequential.json"]
    replay = json.loads((tmp_path / "rows" / kept[0]).read_text())
    assert replay["metadata"]["concviz"]["backend"] == "mp-pool"


def test_compare_trace_must_be_a_folder(cli_env: dict[str, str], tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file.json"
    not_a_folder.write_text("{}")
    result = concviz("compare", "--trace", str(not_a_folder), env=cli_env)
    assert result.returncode == 2
    assert "not a folder" in result.stderr and result.stdout == ""


def test_threads_that_release_the_gil_are_not_said_to_wait(cli_env: dict[str, str]) -> None:
    """A C routine (hashlib) scales on threads: the reading says so, never "I/O or sleep"."""
    result = concviz(
        "run", "--target", "tests/sample_targets.py:digest", "--inputs", json.dumps([200] * 6),
        "-b", "thread-pool", "--workers", "2", "--json", env=cli_env, cwd=HERE.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    said = json.loads(result.stdout)["reading"]
    assert "I/O" not in said and "the GIL lets one thread" not in said, said
    # On a busy machine the honest answer is that it cannot judge.
    assert "releases the GIL" in said or "too busy to judge" in said, said


def test_a_busy_machine_is_named_not_blamed_on_the_work(cli_env: dict[str, str]) -> None:
    """Other processes hold the cores while a CPU-bound run goes: the output says so."""
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(max(2, os.cpu_count() or 2))
    ]
    try:
        result = concviz(
            "run", "-w", "sum-squares", "-b", "process-pool", "--tasks", "6",
            "--size", "1500000", "--json", env=cli_env,
        )  # fmt: skip
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["outside_load_cores"] is not None and data["outside_load_cores"] >= 0.5, data
    assert "other processes used" in data["reading"], data["reading"]
    assert "too little work" not in data["reading"]


def test_outside_load_is_what_others_used_beside_this_process_tree() -> None:
    from workloads.session import outside_load

    # 4 s of machine CPU in 2 s, 1 of it ours: others kept 1.5 cores busy
    assert outside_load((0.0, 10.0, 1.0), (2.0, 14.0, 2.0), cpus=2) == 1.5
    assert outside_load((0.0, 10.0, 1.0), (0.1, 14.0, 2.0), cpus=2) is None  # too short
    assert outside_load((0.0, 10.0, 1.0), (2.0, 10.5, 2.0), cpus=2) == 0.0  # never negative
