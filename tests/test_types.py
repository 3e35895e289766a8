"""The engine and the app type-check strictly: the event contract and the run state are
checked where they are used, not only where they are made."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_both_packages_pass_mypy_strict() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "workloads", "tui"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
