"""Whatever a run's tasks start is part of the run: ended with it, and named."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT

HERE = Path(__file__).resolve().parent
MARK = "CONCVIZ_RUN"


def marked_processes() -> list[psutil.Process]:
    """Every process on the machine that belongs to some concviz run."""
    found = []
    for proc in psutil.process_iter():
        try:
            if MARK in proc.environ() and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            continue
    return found


@pytest.mark.parametrize("backend", ["process-pool", "mp-pool", "processes", "threads"])
@pytest.mark.parametrize("function", ["leave_fork", "leave_popen", "leave_daemon"])
def test_what_a_task_leaves_running_is_ended_and_named(
    function: str, backend: str, cli_env: dict[str, str]
) -> None:
    before = {p.pid for p in marked_processes()}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "run", "--target",
         f"tests/sample_targets.py:{function}", "--inputs", "[1, 2]", "-b", backend,
         "--workers", "2", "--json"],
        capture_output=True, text=True, env=cli_env, cwd=ROOT, timeout=60,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 20, "concviz ends on time"
    data = json.loads(result.stdout)
    left = data["left_behind"]
    # One per task at least (a daemon's first parent may show too, or stand for it when the
    # run ended it before it forked).
    assert len(left) >= 2, left
    if function != "leave_daemon":
        assert sorted(item["task"] for item in left) == [0, 1]
    if function == "leave_popen":
        assert all(item["what"] == "sleep 301" for item in left), left
    pids = {item["pid"] for item in left}
    assert not pids & {p.pid for p in psutil.process_iter()}, "every one of them is gone"
    deadline = time.monotonic() + 3  # a process being ended may take a moment to go
    while (left_over := [p for p in marked_processes() if p.pid not in before]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert not left_over, [(p.pid, p.ppid(), " ".join(p.cmdline())) for p in left_over]


def test_the_summary_says_which_task_left_what(cli_env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "run", "--target",
         "tests/sample_targets.py:leave_popen", "--inputs", "[7]", "-b", "sequential"],
        capture_output=True, text=True, env=cli_env, cwd=ROOT, timeout=60,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "task 0 left pid" in result.stdout and "(sleep 301): ended with the run" in result.stdout
