"""Input from outside concviz, made hostile: trace files, task results and errors, a server.

What a user's terminal must never receive raw is a control character from someone else's text
(a window-title or clipboard escape, a screen clear, a hyperlink, a C1 byte, a bidi override);
what ``concviz replay`` must never do with a file is crash, hang, or size its memory by a
number written in it.
"""

from __future__ import annotations

import io
import json
import re
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from tests.conftest import ROOT
from tui import report
from tui.app import ConcvizApp
from tui.sampler import FixedSampler
from workloads import compare, events, probe, session
from workloads.replay import TraceFileError, load_recording
from workloads.session import RunState
from workloads.spec import build_spec
from workloads.trace import UNSET, Trace

TITLE = "\x1b]0;pwned\x07"  # sets the terminal window's title
CLIPBOARD = "\x1b]52;c;aGVsbG8=\x07"  # writes the clipboard
CLEAR = "\x1b[2J"  # clears the screen
LINK = "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\"  # an OSC 8 hyperlink
C1 = "\x9b31m"  # CSI as one C1 character
BIDI = "\u202eexe.txt"  # a right-to-left override

# What may never reach the output: C0 controls but tab and newline, DEL, C1, bidi controls,
# line/paragraph separators, lone surrogates.
RAW = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _raw(text: str) -> list[str]:
    return sorted({repr(match.group()) for match in RAW.finditer(text)})


def _span(task: Any, ts: Any, dur: Any = 100.0, pid: int = 4711, **args: Any) -> dict[str, Any]:
    """A complete event as concviz writes one per task."""
    return {
        "name": f"task {task}",
        "ph": "X",
        "ts": ts,
        "dur": dur,
        "pid": 1,
        "tid": 1,
        "args": {"task": task, "status": "ok", "os_pid": pid, "os_tid": pid, **args},
    }


def _ours(spans: list[dict[str, Any]], **meta: Any) -> dict[str, Any]:
    return {"traceEvents": spans, "metadata": {"format": "concviz-trace", **meta}}


def _write(folder: Path, name: str, content: str | dict[str, Any]) -> Path:
    path = folder / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _replay_cli(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", "replay", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def _loaded(path: Path) -> Trace:
    trace = Trace()
    trace.ingest(load_recording(path).events)
    return trace


def _printed(trace: Trace, capsys: pytest.CaptureFixture[str]) -> str:
    """Everything the command line prints of ``trace``: the run's report and its timeline."""
    spec = build_spec(workload="sum-squares", backend="process-pool", tasks=3, workers=2)
    report.print_run(spec, session.Outcome(session.FINISHED, trace))
    narrow = io.StringIO()  # the timeline at another width than the report's
    console = Console(file=narrow, width=72, highlight=False)
    for line in report.timeline_text(trace, 72):
        console.print(line)
    console.print(compare.assess(trace, session.FINISHED, None, trace.outside_cores).reading)
    return capsys.readouterr().out + narrow.getvalue()


# -- the text itself -------------------------------------------------------------------------


def test_control_characters_are_spelled_out_and_plain_text_is_left_alone() -> None:
    from workloads.text import visible

    assert visible(TITLE) == "\\x1b]0;pwned\\x07"
    assert visible(C1 + BIDI) == "\\x9b31m\\u202eexe.txt"
    assert visible("a\tb\r\nc") == "a\\tb\\r\\nc"
    assert visible("a\tb\nc\x1b", keep="\n") == "a\\tb\nc\\x1b"
    assert visible("lone \udc80 surrogate") == "lone \\udc80 surrogate"
    plain = "naïve 数据 😀 [bold]markup stays text[/]"
    assert visible(plain) is plain


def test_a_task_s_error_and_result_are_made_visible_in_the_worker() -> None:
    class Shouting:
        def __repr__(self) -> str:
            return CLEAR + "I am a result"

    class MuteError(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no words")

    error = probe.error_text(OSError(f"cannot open {BIDI}{TITLE}"))
    assert not _raw(error) and "\\u202e" in error and "\\x1b]0;pwned" in error
    result = probe.short_repr(Shouting())
    assert not _raw(result) and "\\x1b[2JI am a result" in result
    assert probe.error_text(MuteError()).startswith("MuteError: ")


def test_the_trace_keeps_outside_text_visible_whoever_sent_it() -> None:
    trace = Trace()
    trace.ingest(
        [
            events.run_started(1, {"tasks": 1, "inputs": [TITLE], "note": [LINK, CLEAR]}),
            events.task_started(0, 7, 7, 10),
            events.task_finished(0, 7, 7, 20, 5, events.ERROR, CLIPBOARD, "E: " + C1),
            events.run_failed(30, "cannot import mod: " + CLEAR),
        ]
    )
    view = trace.task(0)
    shown = [view.input, view.result, view.error, trace.failure, *trace.info["note"]]
    assert all(text is not None and not _raw(text) for text in shown), shown
    assert view.input == "\\x1b]0;pwned\\x07"


def test_a_stuck_worker_s_stack_keeps_its_lines_but_not_its_escapes() -> None:
    dump = f'Thread 0x1 (most recent call first):\n  File "/tmp/{TITLE}.py", line 3 in work\n'
    focused = session._focus(dump)
    assert not _raw(focused) and focused.count("\n") == 1 and "\\x1b]0;pwned" in focused


# -- trace files the command line refuses -----------------------------------------------------


UNPLAYABLE = {
    "deep-array": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "deep-object": ('{"traceEvents": ' + '{"a":' * 100_000 + "1" + "}" * 100_001, "nested too"),
    "5000-digits": (
        '{"traceEvents": [{"ph": "X", "ts": 1' + "0" * 5000 + ', "dur": 1, "pid": 1, "tid": 1}]}',
        "number too long",
    ),
    "only-nan-and-infinity": (
        '{"traceEvents": [{"ph": "X", "ts": NaN, "dur": 1, "pid": 1, "tid": 1},'
        ' {"ph": "X", "ts": 0, "dur": Infinity, "pid": 1, "tid": 1},'
        ' {"ph": "X", "ts": 1e308, "dur": 1, "pid": 1, "tid": 1},'
        ' {"ph": "X", "ts": "0", "dur": "1", "pid": 1, "tid": 1}]}',
        "no task spans",
    ),
    "an-event-at-the-top": ('{"ph": "X", "ts": 0, "dur": 1}', "no traceEvents list"),
}


@pytest.mark.parametrize(
    ("content", "message"), list(UNPLAYABLE.values()), ids=list(UNPLAYABLE.keys())
)
def test_an_unplayable_trace_is_refused_in_one_line(
    tmp_path: Path, content: str, message: str
) -> None:
    path = _write(tmp_path, "hostile.json", content)
    with pytest.raises(TraceFileError, match=message):
        load_recording(path)
    result = _replay_cli(path)
    assert result.returncode == 2
    assert result.stderr.startswith("concviz: error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_file_name_is_shown_with_its_escapes_spelled_out(tmp_path: Path) -> None:
    missing = tmp_path / f"run{TITLE}{CLEAR}.json"
    result = _replay_cli(missing)
    assert result.returncode == 2 and "cannot read" in result.stderr
    assert not _raw(result.stderr) and "\\x1b]0;pwned\\x07" in result.stderr
    broken = _write(tmp_path, f"broken{CLIPBOARD}.json", '{"traceEvents": [')
    result = _replay_cli(broken)
    assert result.returncode == 2 and "not valid JSON" in result.stderr
    assert not _raw(result.stderr) and len(result.stderr.strip().splitlines()) == 1


# -- trace files that play, whatever their numbers say ----------------------------------------


def test_bad_numbers_leave_out_their_spans_and_keep_the_rest(tmp_path: Path) -> None:
    content = (
        '{"traceEvents": ['
        '{"ph": "X", "ts": NaN, "dur": 1, "pid": 1, "tid": 1},'
        '{"ph": "X", "ts": 1e308, "dur": 1e308, "pid": 1, "tid": 1},'
        '{"ph": "X", "ts": 5, "dur": -Infinity, "pid": 1, "tid": 1},'
        '{"ph": "X", "ts": "7", "dur": 1, "pid": 1, "tid": 1},'
        '{"ph": "X", "name": "kept", "ts": 10, "dur": 4, "pid": 1e308, "tid": NaN,'
        ' "args": {"cpu_us": "1", "received_us": Infinity, "status": 7, "error": 3}},'
        '{"ph": "C", "name": "cpu \u00b2", "ts": 10, "args": {"percent": 5}},'
        '{"ph": "C", "name": "cpu 0", "ts": 10, "args": {"percent": 1e308}},'
        '{"ph": "C", "name": "cpu 1", "ts": NaN, "args": {"percent": 5}}'
        "]}"
    )
    path = _write(tmp_path, "numbers.json", content)
    recording = load_recording(path)
    assert recording.cpu == [(recording.cpu[0][0], [100.0])]  # clamped to a percentage
    trace = Trace()
    trace.ingest(recording.events)
    assert trace.count == 1 and trace.task(0).input == "kept" and trace.task(0).error == "3"
    assert trace.task(0).end_ns - trace.task(0).start_ns == 4000
    assert trace.task(0).cpu_ns == UNSET  # text where a number belongs: not measured


def _times_in_int64(trace: Trace) -> None:
    for column in (trace.start, trace.end, trace.recv, trace.cpu):
        assert all(-1 <= value < 2**63 for value in column)
    for index in trace.index:
        assert all(0 <= value < 2**63 for value in index.cum_busy)


def test_huge_times_and_cpu_times_stay_in_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spans = [_span(task, 0.0, 2e15, cpu_us=3e15) for task in range(40)]  # all on one lane
    spans += [
        _span(40, 1e15, 10.0, pid=4712, cpu_us=-1e30, received_us=1e308),
        _span(41, 1e15 + 20, 10.0, pid=4712, cpu_us=1e300),
    ]
    trace = _loaded(_write(tmp_path, "huge.json", _ours(spans, wall_us=1e300)))
    assert trace.count == 42 and trace.stats().ok == 42
    _times_in_int64(trace)
    assert trace.task(40).cpu_ns == UNSET  # a negative CPU time is not a measurement
    clamped = trace.task(41)
    assert clamped.cpu_ns == clamped.end_ns - clamped.start_ns  # at most the task's own length
    overlapped = trace.task(1)
    assert overlapped.result is not None and "started before the previous task" in overlapped.result
    assert "ok" in _printed(trace, capsys)


async def test_a_negative_cpu_time_replays_in_the_dashboard(tmp_path: Path) -> None:
    path = _write(tmp_path, "cpu.json", _ours([_span(0, 0.0, cpu_us=-1e30), _span(1, 200.0)]))
    app = ConcvizApp(replay=load_recording(path), speed=0, sampler=FixedSampler([1.0]))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.trace is not None and app.trace.stats().ok == 2
        assert app.state is RunState.FINISHED


@pytest.mark.parametrize("recorded", [10**6, 2**62, 10**4000], ids=["1e6", "2**62", "1e4000"])
def test_memory_follows_the_spans_not_the_task_ids(tmp_path: Path, recorded: int) -> None:
    content = json.dumps(_ours([_span(recorded, 0.0), _span(1, 200.0)]))
    trace = _loaded(_write(tmp_path, "ids.json", content))
    assert trace.count == 2 and len(trace.start) == 2 and trace.stats().ok == 2
    results = {str(trace.task(task).result) for task in range(2)}
    if recorded < 2**63:  # a usable id: renumbered, and the recorded one kept in its details
        assert results == {f"recorded as task {recorded}", "recorded as task 1"}


def test_repeated_task_ids_become_distinct_tasks(tmp_path: Path) -> None:
    trace = _loaded(_write(tmp_path, "dup.json", _ours([_span(3, i * 200.0) for i in range(5)])))
    assert trace.count == 5 and trace.stats().ok == 5


def test_malformed_metadata_is_left_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    meta: dict[str, Any] = {
        "concviz": {"workers": 1e308, "backend": 5, "params": {"size": [[[[[[1]]]]]]}},
        "python": {"usable_cpus": 10**40, "gil_enabled": "no"},
        "detail": [1, 2],
        "note": "one string, not two lines",
        "lanes": 7,
        "outside_load_cores": -1e30,
    }
    trace = _loaded(_write(tmp_path, "meta.json", _ours([_span(0, 0.0)], **meta)))
    assert trace.detail == {} and trace.outside_cores is None
    assert trace.info["python"]["usable_cpus"] is None
    assert len(trace.info["note"]) == 2
    _printed(trace, capsys)
    for other in ({"lanes": [5, {"os_pid": "x"}], "detail": "ab"}, {"concviz": [], "note": [1]}):
        _printed(_loaded(_write(tmp_path, "meta2.json", _ours([_span(0, 0.0)], **other))), capsys)


def test_a_sparse_trace_keeps_its_tasks_in_their_recorded_order(tmp_path: Path) -> None:
    spans = [_span(task * 1_000_003, task * 10.0, 5.0) for task in range(20_000)]
    trace = _loaded(_write(tmp_path, "sparse.json", _ours(spans)))
    assert trace.count == len(trace.start) == 20_000 and trace.stats().ok == 20_000
    assert trace.task(7).result == f"recorded as task {7 * 1_000_003}"


# -- escapes in a replayed trace never reach the screen raw ------------------------------------


def _escaping_trace(folder: Path) -> Path:
    spans = [
        _span(0, 0.0, input=TITLE + "in", result=CLIPBOARD + "out", cpu_us=50.0),
        _span(1, 200.0, status="error", error="HTTPError: " + CLEAR + LINK, cpu_us=50.0),
        _span(2, 400.0, result=C1 + BIDI, input={"nested": [CLEAR]}, cpu_us=50.0),
        {"name": "cpu 0", "ph": "C", "ts": 10.0, "pid": 0, "args": {"percent": 50.0}},
    ]
    meta = {
        "concviz": {
            "workload": "sum-squares" + TITLE,
            "backend": "process-pool" + CLEAR,
            "start_method": C1,
            "workers": 2,
            "params": {"size" + BIDI: LINK},
        },
        "note": [TITLE + "watch the bars", LINK + "why"],
        "lanes": [{"os_pid": 4711, "os_tid": 4711, "kind": "proc", "start_method": CLEAR}],
        "python": {"version": CLIPBOARD, "usable_cpus": 2},
        "detail": {"workers": 2, "chunksize": 1, "left_behind": [{"pid": 9, "what": TITLE}]},
        "wall_us": 600.0,
    }
    return _write(folder, f"replay{TITLE}.json", _ours(spans, **meta))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def test_a_replayed_trace_s_escapes_are_printed_visible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = load_recording(_escaping_trace(tmp_path))
    assert not [text for text in _strings(recording.events) if _raw(text)]
    trace = Trace()
    trace.ingest(recording.events)
    out = _printed(trace, capsys)
    assert not _raw(out), _raw(out)
    assert "\\x1b]52;c;aGVsbG8=\\x07out" in out  # shown, not dropped
    assert "\\x1b[2J" in out and "\\x1b]0;pwned\\x07watch the bars" in out


def test_a_foreign_trace_s_call_names_are_shown_visible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = [
        {"ph": "X", "name": "main" + TITLE, "ts": 0, "dur": 100, "pid": 1, "tid": 1},
        {"ph": "X", "name": "read" + CLEAR, "ts": 10, "dur": 10, "pid": 1, "tid": 1},
        {"ph": "X", "name": BIDI, "ts": 200, "dur": 10, "pid": 1, "tid": 2},
    ]
    trace = _loaded(_write(tmp_path, "foreign.json", {"traceEvents": calls}))
    texts = [text for task in range(trace.count) for text in _strings(vars(trace.task(task)))]
    assert texts and not [text for text in texts if _raw(text)]
    assert not _raw(_printed(trace, capsys))


async def test_the_dashboard_shows_a_replayed_trace_s_escapes_visible(tmp_path: Path) -> None:
    recording = load_recording(_escaping_trace(tmp_path))
    app = ConcvizApp(replay=recording, speed=0, sampler=FixedSampler([1.0, 1.0]))
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        assert app.trace is not None and app.trace.finished
        shown: list[str] = []
        for task in range(app.trace.count):
            app.timeline.select(task)
            await pilot.pause()
            shown.append(str(app.query_one("#summary").render()))
        shown.append(str(app.query_one("#note").render()))
        shown.append(str(app.query_one("#fixed").render()))
        shown.append(str(app.query_one("#executor-pane").border_title))
        shown += ["".join(segment.text for segment in strip) for strip in app.results.lines]
        shown += [
            "".join(segment.text for segment in app.timeline.render_line(y))
            for y in range(app.timeline.size.height)
        ]
    everything = "\n".join(shown)
    assert not _raw(everything), _raw(everything)
    assert "\\x1b]0;pwned\\x07in" in everything and "HTTPError: \\x1b[2J" in everything


async def test_a_target_path_with_escapes_is_named_visible_on_the_timeline(tmp_path: Path) -> None:
    from tui.choices import Choices

    target = f"{tmp_path}/work{TITLE}.py:work"
    app = ConcvizApp(
        choices=Choices(workload="target", target=target, inputs="[1]"),
        sampler=FixedSampler([1.0]),
        output_dir=tmp_path,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        lines = [
            "".join(segment.text for segment in app.timeline.render_line(y))
            for y in range(app.timeline.size.height)
        ]
    invitation = "".join(lines)
    assert "Press r to run" in invitation and "\\x1b]0;pwned" in invitation
    assert not _raw(invitation)


async def test_markup_in_a_recorded_note_shows_as_text(tmp_path: Path) -> None:
    path = _write(tmp_path, "note.json", _ours([_span(0, 0.0)], note=["[/x] watch", "[b]why"]))
    app = ConcvizApp(replay=load_recording(path), speed=0, sampler=FixedSampler([1.0]))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "[/x] watch" in str(app.query_one("#note").render())


# -- a server's words, end to end --------------------------------------------------------------


class _Hostile(socketserver.BaseRequestHandler):
    """Answers every request with a status line that would set the terminal's title."""

    def handle(self) -> None:
        self.request.settimeout(5)
        try:
            self.request.recv(65536)
            self.request.sendall(
                b"HTTP/1.0 500 \x1b]0;pwned\x07\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
        except OSError:
            pass


@pytest.fixture
def hostile_server() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Hostile)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_server_s_error_text_reaches_the_command_line_visible(
    hostile_server: int, cli_env: dict[str, str]
) -> None:
    with socket.create_connection(("127.0.0.1", hostile_server), timeout=5) as probe_socket:
        probe_socket.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert b"\x1b]0;pwned" in probe_socket.recv(4096)  # the server really says it
    url = f"http://127.0.0.1:{hostile_server}/"
    for extra in ([], ["--json"]):
        result = subprocess.run(
            [sys.executable, "-m", "tui.cli", "run", "-w", "download", "--url", url]
            + ["--tasks", "1", "-b", "sequential", *extra],
            capture_output=True,
            text=True,
            env=cli_env,
            cwd=ROOT,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 1, result.stderr
        assert "\x1b" not in result.stdout + result.stderr
        assert "\x07" not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        assert "HTTP Error 500" in result.stdout and "x1b]0;pwned" in result.stdout
