"""Values that cannot work are refused up front, in one line, with exit 2 and nothing started.

Inputs too deep or too long to read, chunk sizes past any run, floats that are not numbers,
URLs that are not the network, trace files that cannot be written; and large inputs from a file.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_cli import concviz

ROOT = Path(__file__).resolve().parent.parent
TINY = ["run", "-w", "double", "--tasks", "2", "-b", "sequential"]
TARGET = ["run", "--target", "tests.sample_targets:where", "-b", "sequential"]


def assert_refused(result: subprocess.CompletedProcess[str], message: str) -> None:
    """Exit 2, one stderr line holding ``message``, no traceback, no output of a run."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


REFUSED = [
    ("inputs-nested-10k-deep", [*TARGET, "--inputs", "[" * 10_000 + "]" * 10_000],
     "--inputs is nested too deeply: at most 100 levels"),
    ("inputs-nested-past-the-limit", [*TARGET, "--inputs", "[" * 101 + "]" * 101],
     "--inputs is nested too deeply: at most 100 levels"),
    ("inputs-5000-digit-number", [*TARGET, "--inputs", "[" + "9" * 5000 + "]"],
     "--inputs holds a number with more than"),
    ("chunksize-1e23", [*TINY, "-b", "mp-pool", "--chunksize", "1" + "0" * 23],
     "--chunksize must be at most 1,000,000 (the most tasks a run has), got 1000"),
    ("chunksize-past-max", [*TINY, "--chunksize", "1000001"],
     "--chunksize must be at most 1,000,000"),
    ("stall-timeout-nan", [*TINY, "--stall-timeout", "nan"],
     "--stall-timeout must be 0 (off) or a finite number of seconds, got nan"),
    ("stall-timeout-inf", [*TINY, "--stall-timeout", "inf"],
     "--stall-timeout must be 0 (off) or a finite number of seconds, got inf"),
    ("stall-timeout-negative", [*TINY, "--stall-timeout", "-1"],
     "--stall-timeout must be 0 (off) or a finite number of seconds, got -1"),
    ("sleep-scale-nan", ["run", "-w", "sleep", "--scale", "nan"],
     "--scale must be a finite number, got nan"),
    ("sleep-scale-inf", ["run", "-w", "sleep", "--scale", "inf"],
     "--scale must be a finite number, got inf"),
    ("sleep-scale-negative", ["run", "-w", "sleep", "--scale", "-1"],
     "--scale must be at least 0.001, got -1"),
    ("download-scale-nan", ["run", "-w", "download", "--scale", "nan"],
     "--scale must be a finite number, got nan"),
    ("download-scale-minus-inf", ["run", "-w", "download", "--scale=-inf"],
     "--scale must be a finite number, got -inf"),
    ("url-file", ["run", "-w", "download", "--url", "file:///etc/shadow"],
     "--url takes http:// and https:// addresses only, got 'file:///etc/shadow'"),
    ("url-ftp-after-a-good-one", ["run", "-w", "download", "--url", "http://example.com/",
     "--url", "ftp://example.com/x"], "--url takes http:// and https:// addresses only"),
    ("url-data", ["run", "-w", "download", "--url", "data:,secret"],
     "--url takes http:// and https:// addresses only"),
    ("url-plain-path", ["run", "-w", "download", "--url", "/etc/passwd"],
     "--url takes http:// and https:// addresses only"),
    ("url-without-host", ["run", "-w", "download", "--url", "http:///etc/passwd"],
     "--url takes http:// and https:// addresses only"),
    ("compare-url-file", ["compare", "-w", "download", "--url", "file:///etc/shadow"],
     "--url takes http:// and https:// addresses only"),
    ("trace-empty", [*TINY, "--trace", ""], "--trace needs a file name"),
    ("trace-missing-folder", [*TINY, "--trace", "/no/such/folder/run.json"],
     "--trace /no/such/folder/run.json: no such folder /no/such/folder"),
    ("trace-a-folder", [*TINY, "--trace", "tests"], "--trace tests: names a folder"),
    ("trace-a-folder-name", [*TINY, "--trace", "no-such-folder/"],
     "--trace no-such-folder/: names a folder"),
    ("compare-trace-empty", ["compare", "-w", "double", "--tasks", "2", "--trace", ""],
     "--trace needs a folder name"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_a_value_that_cannot_work_is_refused_in_one_line(
    args: list[str], message: str, cli_env: dict[str, str]
) -> None:
    assert_refused(concviz(*args, env=cli_env, cwd=ROOT, timeout=60), message)


# -- --inputs @FILE ---------------------------------------------------------------------------


def test_inputs_too_large_for_the_command_line_come_from_a_file(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    # Over 128 KiB: more than Linux lets one command-line argument hold.
    (tmp_path / "inputs.json").write_text(json.dumps(list(range(40_000))))
    result = concviz(
        *TARGET, "--inputs", "@inputs.json", "--tasks", "2", "--json", env=cli_env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["tasks"], data["ok"]) == (2, 2)
    assert [row["input"] for row in data["results"]] == ["0", "1"]


def test_inputs_file_runs_each_element_once(cli_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "three.json").write_text("[7, 8, 9]\n")
    result = concviz(*TARGET, "--inputs", "@three.json", "--json", env=cli_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["tasks"], data["ok"]) == (3, 3)
    assert [row["input"] for row in data["results"]] == ["7", "8", "9"]


def _inputs_file_cases(tmp_path: Path) -> list[tuple[str, str]]:
    (tmp_path / "broken.json").write_text("[1,\n2,")
    (tmp_path / "object.json").write_text('{"a": 1}')
    (tmp_path / "empty.json").write_text("[]")
    (tmp_path / "latin1.json").write_bytes(b'["caf\xe9"]')
    (tmp_path / "deep.json").write_text("[" * 10_000 + "]" * 10_000)
    (tmp_path / "digits.json").write_text("[" + "9" * 5000 + "]")
    (tmp_path / "many.json").write_text("[" + "0," * 1_000_000 + "0]")
    (tmp_path / "a-folder").mkdir()
    return [
        ("@missing.json", "--inputs @missing.json: no such file"),
        ("@a-folder", "--inputs @a-folder: is a folder, not a JSON file"),
        ("@", "--inputs @: name the JSON file after the @"),
        ("@broken.json", "--inputs @broken.json is not valid JSON (Expecting value at line 2"),
        ("@object.json", "--inputs @object.json must be a JSON array, got dict"),
        ("@empty.json", "--inputs @empty.json is an empty array"),
        ("@latin1.json", "--inputs @latin1.json: not UTF-8 text"),
        ("@deep.json", "--inputs @deep.json is nested too deeply"),
        ("@digits.json", "--inputs @digits.json holds a number with more than"),
        ("@many.json", "--inputs @many.json has 1,000,001 elements; a run takes at most 1,000,000"),
    ]


def test_an_inputs_file_that_cannot_be_used_is_refused_in_one_line(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    for value, message in _inputs_file_cases(tmp_path):
        assert_refused(concviz(*TARGET, "--inputs", value, env=cli_env, cwd=tmp_path), message)


def test_an_inputs_file_past_the_size_limit_is_refused(cli_env: dict[str, str]) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("needs /dev/zero")
    result = concviz(*TARGET, "--inputs", "@/dev/zero", env=cli_env, cwd=ROOT)
    assert_refused(result, "--inputs @/dev/zero: larger than 64 MiB")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_inputs_file_is_refused(cli_env: dict[str, str], tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text("[1]")
    secret.chmod(0)
    result = concviz(*TARGET, "--inputs", "@secret.json", env=cli_env, cwd=tmp_path)
    assert_refused(result, "--inputs @secret.json: cannot read it: Permission denied")


def test_the_dashboard_reads_an_inputs_file_relative_to_where_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.choices import Choices

    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.json").write_text("[4, 5]")
    choices = Choices(workload="target", target="tests.sample_targets:where", inputs="@in.json")
    assert choices.to_spec().inputs == (4, 5)
    assert choices.describe_workload()[0].endswith("on the inputs in in.json")


def test_serve_hands_its_dashboards_the_inputs_file_by_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui import cli

    monkeypatch.chdir(tmp_path)
    args = cli.build_parser().parse_args(
        ["serve", "--target", "tests.sample_targets:where", "--inputs", "@in.json"]
    )
    argv = cli._dashboard_argv(args)
    assert argv[argv.index("--inputs") + 1] == f"@{tmp_path / 'in.json'}"
    inline = cli.build_parser().parse_args(["serve", "--inputs", "[1, 2]"])
    argv = cli._dashboard_argv(inline)
    assert argv[argv.index("--inputs") + 1] == "[1, 2]"


# -- the dashboard's fields and starting choices -------------------------------------------------


def test_the_dashboard_url_field_refuses_a_local_file() -> None:
    from tui.choices import Choices
    from workloads.spec import SpecError

    with pytest.raises(SpecError, match=r"--url takes http:// and https:// addresses only"):
        Choices(workload="download").with_text("url", "file:///etc/passwd")
    # The network stays open to it.
    changed = Choices(workload="download").with_text("url", "https://example.com/a")
    assert changed.param("url") == ["https://example.com/a"]


@pytest.mark.parametrize("text", ["nan", "inf", "-inf"])
def test_the_dashboard_scale_field_refuses_what_is_not_a_number(text: str) -> None:
    from tui.choices import Choices
    from workloads.spec import SpecError

    with pytest.raises(SpecError, match="--scale must be a finite number"):
        Choices(workload="sleep").with_text("scale", text)


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_the_dashboard_refuses_a_stall_timeout_that_is_not_a_number(value: str) -> None:
    from tui import cli

    args = cli.build_parser().parse_args(["--stall-timeout", value])
    problem = cli._dashboard_problem(args)
    assert problem == f"--stall-timeout must be 0 (off) or a finite number of seconds, got {value}"


# -- --trace FILE of run ---------------------------------------------------------------------------


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """``path`` cannot be written while inside; for root (who writes anything) by chattr +i."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode:
        pytest.skip("running as root without chattr +i here: nothing is read-only")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def test_a_read_only_trace_file_is_refused_before_the_run(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    kept = tmp_path / "kept.json"
    kept.write_text("{}")
    with read_only(kept):
        result = concviz(*TINY, "--trace", str(kept), env=cli_env)
    assert_refused(result, f"--trace {kept}: the file is not writable")
    assert kept.read_text() == "{}"


def test_a_trace_file_in_a_read_only_folder_is_refused_before_the_run(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    with read_only(folder):
        result = concviz(*TINY, "--trace", str(folder / "run.json"), env=cli_env)
    assert_refused(result, f"--trace {folder / 'run.json'}: the folder {folder} is not writable")
    assert not (folder / "run.json").exists()


@pytest.mark.parametrize("as_json", [False, True], ids=["summary", "json"])
def test_a_trace_that_fails_after_the_run_keeps_the_results(
    as_json: bool, cli_env: dict[str, str]
) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full (writes to it fail with ENOSPC)")
    result = concviz(*TINY, "--trace", "/dev/full", *(["--json"] if as_json else []), env=cli_env)
    assert result.returncode == 1, result.stdout + result.stderr
    if as_json:
        data = json.loads(result.stdout)
        assert (data["tasks"], data["ok"]) == (2, 2)
    else:
        assert "double on sequential" in result.stdout
        assert "2/2 ok" in result.stdout
        assert "trace written" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "concviz: error: cannot write --trace /dev/full: No space left on device"
        " (the run above is complete)"
    ]


def test_the_help_names_the_exit_code_of_a_trace_that_could_not_be_written(
    cli_env: dict[str, str],
) -> None:
    result = concviz("run", "--help", env=cli_env)
    assert result.returncode == 0
    assert "its --trace could not be" in result.stdout
    assert "@FILE" in result.stdout
