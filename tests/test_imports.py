"""The headless core stays free of UI libraries: spawned workers re-import it."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_workloads_import_without_textual_or_rich() -> None:
    code = (
        "import sys\n"
        "import workloads.session, workloads.supervisor, workloads.backends, workloads.probe\n"
        "import workloads.catalog, workloads.compare, workloads.export, workloads.trace\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'tui')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
