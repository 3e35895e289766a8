"""Shared fixtures: process hygiene checks and a clean exit for multiprocessing helpers."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def our_tracker_pid() -> int | None:
    from multiprocessing import resource_tracker

    return getattr(resource_tracker._resource_tracker, "_pid", None)


def leftover_children() -> list[psutil.Process]:
    """Children of this test process other than multiprocessing's own resource tracker."""
    tracker = our_tracker_pid()
    found = []
    for child in psutil.Process().children(recursive=True):
        if child.pid == tracker:
            continue
        try:
            cmdline = " ".join(child.cmdline())
        except psutil.Error:
            cmdline = ""
        if "tmux" in cmdline:
            continue
        found.append(child)
    return found


def assert_gone(pids: set[int]) -> None:
    """None of ``pids`` is alive or a zombie."""
    alive = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            alive.append(f"{pid} ({proc.status()})")
        except psutil.NoSuchProcess:
            pass
    assert not alive, f"processes left behind: {alive}"


@pytest.fixture
def no_leftovers() -> Iterator[None]:
    """Fails the test if it leaves any child process (alive or zombie) of this process."""
    yield
    left = leftover_children()
    assert not left, f"left behind: {[(p.pid, p.status()) for p in left]}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from workloads import tracker

    tracker.shutdown()


@pytest.fixture
def cli_env() -> dict[str, str]:
    """Environment for running the concviz command in a subprocess."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("FORCE_COLOR", None)
    env["COLUMNS"] = "100"
    return env
