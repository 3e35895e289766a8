"""Start-up cost of concviz: a one-task `concviz run` against a bare script, and the first frame.

Side by side in one run, interleaved with the order alternating (the machine is shared):
- a bare Python script that runs one `double` task and prints its result;
- `concviz run -w double -b sequential --tasks 1` (output to /dev/null): parse, supervisor
  start, the run, its report, teardown — what every CLI call and every compare row pays;
- the same pair on process-pool (a bare `ProcessPoolExecutor` with one task);
- `concviz` in a pseudo-terminal at 120×40: launch to the first frame (the timeline drawn).
Targets: `concviz run` at most 0.15 s above the bare script; first frame <= 0.35 s.

Each ROOT is a checkout of concviz run as `python -m tui.cli` from that folder (this one by
default); give two to compare versions in the same minutes, e.g. one made with
`git worktree add --detach /tmp/before COMMIT`. Bytecode is written and used, as on a
user's machine (PYTHONDONTWRITEBYTECODE is dropped for the measured processes).

    python bench/startup.py [--rounds N] [ROOT ...]
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

BARE_SEQUENTIAL = """\
import os

def double(i):
    return i * 2, os.getpid()

print([double(i) for i in range(1)])
"""

BARE_POOL = """\
import os
from concurrent.futures import ProcessPoolExecutor

def double(i):
    return i * 2, os.getpid()

if __name__ == "__main__":
    with ProcessPoolExecutor() as pool:
        print(list(pool.map(double, range(1))))
"""


def environment(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    env["PYTHONPATH"] = str(root)
    return env


def timed(command: list[str], root: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=root,
        env=environment(root),
        check=True,
    )
    return time.perf_counter() - started


def first_frame(root: Path) -> float:
    """Launch to the timeline on screen, with that checkout's own pty helper."""
    sys.path.insert(0, str(root))
    try:
        for name in [m for m in sys.modules if m == "tests" or m.startswith("tests.")]:
            del sys.modules[name]
        terminal = importlib.import_module("tests.pty_terminal")
    finally:
        sys.path.remove(str(root))
    saved = os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        term = terminal.Terminal()
    finally:
        if saved is not None:
            os.environ["PYTHONDONTWRITEBYTECODE"] = saved
    term.wait_for(lambda screen: "timeline" in screen, 60)
    elapsed = time.perf_counter() - term.started
    term.pump(0.3)
    term.close()
    return float(elapsed)


def line(name: str, values: list[float]) -> str:
    return (
        f"  {name:<36} median {statistics.median(values):.3f} s"
        f" (min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("roots", nargs="*", type=Path, default=[HERE])
    args = parser.parse_args()
    roots: list[Path] = [root.resolve() for root in args.roots]
    folder = Path(tempfile.mkdtemp(prefix="concviz-bench-"))
    try:
        (folder / "bare_sequential.py").write_text(BARE_SEQUENTIAL)
        (folder / "bare_pool.py").write_text(BARE_POOL)
        cases = {
            "sequential": [sys.executable, str(folder / "bare_sequential.py")],
            "process-pool": [sys.executable, str(folder / "bare_pool.py")],
        }
        run = [sys.executable, "-m", "tui.cli", "run", "-w", "double", "--tasks", "1", "-b"]
        for root in roots:  # the first launch writes the bytecode
            timed([*run, "sequential"], root)
            first_frame(root)
        # results[root][measure] -> seconds
        results: dict[Path, dict[str, list[float]]] = {root: {} for root in roots}
        bare: dict[str, list[float]] = {backend: [] for backend in cases}
        for i in range(args.rounds):
            order = roots if i % 2 == 0 else roots[::-1]
            for backend, script in cases.items():
                plain = timed(script, HERE)
                bare[backend].append(plain)
                for root in order:
                    ours = timed([*run, backend], root)
                    results[root].setdefault(f"run {backend}", []).append(ours)
                    results[root].setdefault(f"over bare {backend}", []).append(ours - plain)
            if i % 2 == 0 or args.rounds < 10:
                for root in order:
                    results[root].setdefault("first frame", []).append(first_frame(root))
        for backend in cases:
            print(line(f"bare script, {backend}", bare[backend]))
        for root in roots:
            print(f"{root}:")
            for backend in cases:
                print(line(f"concviz run, {backend}", results[root][f"run {backend}"]))
                print(line("  over the bare script", results[root][f"over bare {backend}"]))
            print(line("first frame (120x40 pty)", results[root]["first frame"]))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
