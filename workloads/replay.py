"""Provides recordings: a Chrome trace file read back into concviz events, for replay.

Reading a trace only parses JSON: nothing in the file is ever executed. Files written by
concviz replay exactly (lanes, CPU share, results, per-core CPU); other tools' traces
(VizTracer, Ray, chrome://tracing) show as far as they are understood: one lane per
pid/tid, a task per top-level complete ("X") event of the lane, the calls nested inside it
named in its result, and no CPU time where the file records none.

A trace file comes from outside and is read as such. Its text is shown with control
characters made visible (:func:`workloads.text.visible`); every number is checked before it
is used (finite, and times within what nanoseconds in 64 bits hold); task ids that are sparse
or huge are renumbered densely, so memory follows the file's content, never a number in it;
and a file that cannot be read at all is refused with one line (:class:`TraceFileError`).
"""

from __future__ import annotations

import heapq
import json
import math
import re
import reprlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any, NamedTuple

from workloads import events
from workloads.text import visible
from workloads.trace import UNSET

ORIGIN_NS = 1_000_000_000  # recorded time 0 (the clock is arbitrary; 0 would read as unset)

_STATUS = {name: code for code, name in events.STATUS_NAMES.items()}
_LANE_KINDS = (
    events.LANE_PROC,
    events.LANE_THREAD,
    events.LANE_MAIN,
    events.LANE_CORO,
    events.LANE_INTERP,
    events.LANE_LOOP,
    events.LANE_DASK,
)

# Chrome traces keep float microseconds: a nested call's end can come out a hair after its
# caller's, and a lane's next call can start a hair before the previous one ends.
_TOLERANCE_US = 1.0
_RESULT_CHARS = 200  # a task's result is shown on one line
_TEXT_CHARS = 200  # and so are its input, its error, a call's name
# Times and durations in the file, in µs. Within these, any time minus the earliest, in ns,
# fits 3 × 2**61 < 2**63: the trace's int64 columns and a lane's running sums cannot overflow.
_MAX_US = 2.0**61 / 1000
_MAX_OFFSET_NS = 3 * 2**61
_MAX_CORES = 4096  # "cpu N" counters past this are not a machine's cores
_MAX_INT = 2**53  # integers in a run's metadata beyond this are not counts anyone made
_META_DEPTH = 4  # the run's choices and Python facts are two levels deep
_META_ITEMS = 64  # items kept of one list or dict there (a run has a handful)
# VizTracer names a Python function "qualname (file:line)"; the summary keeps the qualname.
_LOCATION = re.compile(r"^(.*\S) \([^()]*:\d+\)$")

# A non-text value where text belongs (a list as an input) is shown as a short repr.
_short_repr = reprlib.Repr()
_short_repr.maxlevel = 3
_short_repr.maxstring = 60
_short_repr.maxother = 60


class TraceFileError(ValueError):
    """The file cannot be replayed; the message is one line for the user."""


@dataclass
class Recording:
    """A run as events in time order, with its per-core CPU readings.

    ``path`` is the file's name as given, made visible: it is shown, never opened again.
    """

    path: str
    events: list[events.Event]
    cpu: list[tuple[int, list[float]]] = field(default_factory=list)
    foreign: bool = False

    @property
    def begin_ns(self) -> int:
        return self.events[0][1] if self.events else ORIGIN_NS

    @property
    def end_ns(self) -> int:
        return max((replay_time(e) for e in self.events), default=ORIGIN_NS)


def replay_time(event: events.Event) -> int:
    """When an event happened (each kind keeps its time in its own place)."""
    if event[0] == events.TASK_STARTED or event[0] == events.TASK_FINISHED:
        return int(event[4])
    if event[0] == events.TASK_DONE:
        return int(event[5])  # its end: that is when it is known whole
    if event[0] == events.WORKER_UP:
        return int(event[3])
    if event[0] == events.WORKER_DOWN or event[0] == events.WORKER_READY:
        return int(event[2])
    if event[0] == events.TASK_SUBMITTED or event[0] == events.TASK_RESULT:
        return int(event[2])
    if event[0] == events.TASK_LEFT:
        return int(event[3])
    return int(event[1])


def _number(value: Any) -> float | None:
    """A finite number, or None (text, a boolean, NaN, ±Infinity, an int too big for a float).

    Called several times per event of files with a million of them: the common case (a float
    from the JSON parser) is decided first, without a function call.
    """
    if type(value) is float:
        return value if value - value == 0.0 else None  # NaN and ±Infinity give NaN
    if type(value) is not int:  # booleans are ints of another type: not numbers here
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def _size(value: Any) -> int | None:
    """A byte count: an int from 0 to 2**31 - 1, or None."""
    return value if type(value) is int and 0 <= value < 2**31 else None


def _time(value: Any) -> float | None:
    """A time in µs within the range a trace can hold, or None."""
    number = _number(value)
    return number if number is not None and -_MAX_US <= number <= _MAX_US else None


def _ident(value: Any) -> int | None:
    """A pid, a thread id or an exit code: an integer that fits 64 bits, or None."""
    if type(value) is int:  # not a boolean
        return value if -(2**63) <= value < 2**63 else None
    if type(value) is float and math.isfinite(value) and abs(value) < 2**63:
        return int(value)
    return None


def _text(value: Any, limit: int = _TEXT_CHARS) -> str:
    """A value from the file as one line of visible text, at most ``limit`` characters."""
    if type(value) is str:
        if len(value) <= limit and value.isprintable():  # most text: nothing to do
            return value
        raw = value
    elif value is None or isinstance(value, bool):
        raw = json.dumps(value)
    else:  # numbers and containers: a clipped repr (bounded depth, bounded digits)
        raw = _short_repr.repr(value)
    return visible(raw[:limit])[:limit]


def _tame(value: Any, depth: int = 0) -> Any:
    """Metadata from the file made safe to hold and show: text visible and clipped, numbers
    finite and of a sensible size, containers shallow and short (what is not is left out)."""
    if isinstance(value, str):
        return _text(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -_MAX_INT <= value <= _MAX_INT else None
    if isinstance(value, float):
        return value if math.isfinite(value) and abs(value) <= _MAX_INT else None
    if depth >= _META_DEPTH:
        return None
    if isinstance(value, dict):
        items = list(value.items())[:_META_ITEMS]
        return {_text(key, 60): _tame(item, depth + 1) for key, item in items}
    if isinstance(value, list):
        return [_tame(item, depth + 1) for item in value[:_META_ITEMS]]
    return None


def _lost_attempt(
    attempt: dict[str, Any], ns: Callable[[float | None], int | None], count: int
) -> events.TaskLost | None:
    """A recorded attempt lost with its worker, or None where the entry is not usable."""
    task, pid, tid = (_ident(attempt.get(k)) for k in ("task", "os_pid", "os_tid"))
    began, ended = ns(_time(attempt.get("start_us"))), ns(_time(attempt.get("end_us")))
    if task is None or pid is None or tid is None or began is None or ended is None:
        return None
    if not 0 <= task < count:
        return None
    return events.task_lost(task, pid, tid, began, max(ended, began))


class _Span(NamedTuple):
    """A complete ("X") event as the reader keeps it: numbers checked, text made visible."""

    start: float  # µs
    end: float
    pid: int
    tid: int
    name: str
    task: int | None  # the task id concviz recorded
    status: int
    input: str | None
    result: str | None
    error: str | None
    cpu_us: float | None
    received_us: float | None
    submitted_us: float | None = None
    wait_us: float | None = None  # runnable, not on a core
    input_bytes: int | None = None  # pickled
    result_bytes: int | None = None


class _Down(NamedTuple):
    """A "worker down" instant: a worker process ended."""

    ts: float
    pid: int
    exitcode: int | None


class _Reading(NamedTuple):
    """One core's CPU reading (a "cpu N" counter)."""

    ts: float
    core: int
    percent: float


class _Reader:
    """The JSON object hook: each trace event reduced to what replay reads as soon as it is
    parsed, so the parsed file is never held as a dict per event (nor the dicts of their
    arguments). Objects that are not events (arguments, metadata) are kept as they are."""

    def __init__(self) -> None:
        self.dropped = 0  # complete events whose time or duration is not a usable number
        self._ints: dict[int, int] = {}  # one int object per pid and tid, not one per event

    def __call__(self, obj: dict[str, Any]) -> Any:
        phase = obj.get("ph")
        if phase is None:
            return obj
        if phase == "X":
            return self._span(obj)
        if phase == "C":
            return self._reading(obj)
        if phase == "i" and obj.get("name") == "worker down":
            return self._down(obj)
        return None  # metadata ("M"), begin/end pairs, flows: not drawn

    def _span(self, obj: dict[str, Any]) -> _Span | None:
        ts, dur = _time(obj.get("ts")), _number(obj.get("dur", 0))
        if ts is None or dur is None or not 0 <= dur <= _MAX_US:
            self.dropped += 1
            return None
        args = obj.get("args")
        if not isinstance(args, dict):
            args = {}
        pid = _ident(args.get("os_pid"))
        pid = _ident(obj.get("pid", 0)) if pid is None else pid
        tid = _ident(args.get("os_tid"))
        tid = _ident(obj.get("tid", 0)) if tid is None else tid
        task = args.get("task")
        status = args.get("status", "ok")
        code = _STATUS.get(status, events.OK) if isinstance(status, str) else events.OK
        given, result, error = args.get("input"), args.get("result"), args.get("error")
        return _Span(
            ts,
            ts + dur,
            self._ints.setdefault(pid or 0, pid or 0),
            self._ints.setdefault(tid or 0, tid or 0),
            _text(obj.get("name", "")),
            task if type(task) is int and 0 <= task < 2**63 else None,
            events.OK if code in (events.PENDING, events.RUNNING) else code,
            None if given is None else _text(given),
            None if result is None else _text(result, _RESULT_CHARS),
            _text(error) if error else None,
            _number(args.get("cpu_us")),
            _number(args.get("received_us")),
            _number(args.get("submitted_us")),
            _number(args.get("wait_us")),
            _size(args.get("input_bytes")),
            _size(args.get("result_bytes")),
        )

    def _reading(self, obj: dict[str, Any]) -> _Reading | None:
        name = obj.get("name")
        if not isinstance(name, str) or not name.startswith("cpu "):
            return None
        core = name[4:]
        ts = _time(obj.get("ts"))
        args = obj.get("args")
        percent = _number(args.get("percent")) if isinstance(args, dict) else None
        if not (core.isdecimal() and len(core) <= 4) or ts is None or percent is None:
            return None
        if int(core) >= _MAX_CORES:
            return None
        return _Reading(ts, int(core), min(max(percent, 0.0), 100.0))

    def _down(self, obj: dict[str, Any]) -> _Down | None:
        ts = _time(obj.get("ts"))
        args = obj.get("args")
        if ts is None or not isinstance(args, dict):
            return None
        pid, code = args.get("os_pid"), _ident(args.get("exitcode"))
        if type(pid) is not int or _ident(pid) is None:
            return None
        return _Down(ts, pid, code if code is not None and -(2**31) <= code < 2**31 else None)


def _parse(path: str | Path, name: str, reader: _Reader) -> Any:
    """The file's JSON, events reduced by ``reader``. The file's text is let go on return."""
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            text = file.read()
    except OSError as exc:
        raise TraceFileError(f"cannot read {name}: {exc.strerror or exc}") from None
    except MemoryError:
        raise TraceFileError(f"{name} is too large to read into memory") from None
    try:
        return json.loads(text, object_hook=reader)
    except json.JSONDecodeError as exc:
        raise TraceFileError(
            f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}): truncated or damaged?"
        ) from None
    except RecursionError:
        raise TraceFileError(f"{name} is nested too deeply to be a trace") from None
    except ValueError:  # an integer longer than Python converts (4300 digits)
        raise TraceFileError(f"{name} holds a number too long to read: not a trace") from None
    except MemoryError:
        raise TraceFileError(f"{name} is too large to read into memory") from None


def load_recording(path: str | Path) -> Recording:
    """Read a Chrome trace (object or array form); raises TraceFileError with the reason."""
    name = visible(str(path))
    reader = _Reader()
    data = _parse(path, name, reader)
    meta: dict[str, Any] = {}
    if isinstance(data, dict):
        raw = data.get("traceEvents")
        if isinstance(data.get("metadata"), dict):
            meta = data["metadata"]
    else:
        raw = data
    del data
    if not isinstance(raw, list):
        raise TraceFileError(f"{name} is not a Chrome trace: no traceEvents list")
    spans: list[_Span] = []
    downs: list[_Down] = []
    readings: list[_Reading] = []
    for event in raw:
        if isinstance(event, _Span):
            spans.append(event)
        elif isinstance(event, _Down):
            downs.append(event)
        elif isinstance(event, _Reading):
            readings.append(event)
    del raw
    if not spans:
        skipped = f" ({reader.dropped} with a time out of range)" if reader.dropped else ""
        raise TraceFileError(f'{name} has no task spans ("ph": "X" events) to show{skipped}')
    try:
        return _build(name, spans, downs, readings, meta)
    except MemoryError:
        raise TraceFileError(f"{name} is too large to replay in this memory") from None


@dataclass(slots=True)
class _TopSpan:
    """A lane's top-level span of a foreign trace, with what ran nested inside it."""

    start: float
    end: float
    span: _Span
    calls: Counter[str] | None = None
    depth: int = 0
    clipped: bool = False

    def summary(self) -> str:
        """Its nested calls in one short line, most frequent first."""
        total = sum(self.calls.values()) if self.calls else 0
        if not self.calls or not total:
            return ""
        head = f"{total} nested call{'s' if total != 1 else ''} (depth {self.depth}): "
        names = [f"{_short(call)} ×{count}" for call, count in self.calls.most_common()]
        shown: list[str] = []
        for index, item in enumerate(names):
            more = ", …" if index + 1 < len(names) else ""
            if len(head) + len(", ".join([*shown, item])) + len(more) > _RESULT_CHARS:
                break
            shown.append(item)
        if not shown:  # one very long name: cut it rather than show none
            room = _RESULT_CHARS - len(head) - 1
            return head + names[0][:room] + "…"
        return head + ", ".join(shown) + (", …" if len(shown) < len(names) else "")


def _short(name: str) -> str:
    match = _LOCATION.match(name)
    return match.group(1) if match else name


def _top_level(spans: list[_Span]) -> list[_TopSpan]:
    """One lane's spans reduced to the top-level ones, the lane's tasks, in start order.

    Profilers such as VizTracer record every function call as a span, nested inside its
    caller on the same thread; a lane runs one task at a time, so only the outermost spans
    are tasks. A span inside an earlier one (within ``_TOLERANCE_US``) counts as a nested
    call of the top-level span that contains it.

    A malformed span that starts inside a top-level span and ends after it is clipped: it is
    taken to start where that span ends, then placed like any other span (a task of its own,
    or nested in a later one). The lane's tasks thus never overlap, and no recorded time past
    the earlier span's end is lost.
    """
    # Earliest start first; of spans starting together, the longest (the caller) first.
    heap = [(span.start, -span.end, order) for order, span in enumerate(spans)]
    heapq.heapify(heap)
    tops: list[_TopSpan] = []
    clipped: set[int] = set()
    open_ends: list[float] = []  # ends of the calls open in the current top span, outermost first
    while heap:
        start, negative_end, order = heapq.heappop(heap)
        end = -negative_end
        top = tops[-1] if tops else None
        if (
            top is not None
            and end <= top.end + _TOLERANCE_US
            and (start < top.end or end <= top.end)
        ):
            # Heap order puts this start at or after the top span's: it is contained.
            # The open calls that returned before this one started, or before it ended (a
            # malformed overlap), do not contain it.
            while open_ends and (open_ends[-1] <= start or open_ends[-1] < end - _TOLERANCE_US):
                open_ends.pop()
            open_ends.append(end)
            if top.calls is None:
                top.calls = Counter()
            top.calls[spans[order].name] += 1
            top.depth = max(top.depth, len(open_ends))
            continue
        if top is not None and start < top.end:
            heapq.heappush(heap, (top.end, negative_end, order))
            clipped.add(order)
            continue
        tops.append(_TopSpan(start, end, spans[order], clipped=order in clipped))
        open_ends.clear()
    return tops


_CLIPPED = "started before the previous task ended; shown from that end"


def _one_at_a_time(spans: list[_Span]) -> list[str]:
    """concviz's own spans, in start order, made to follow each other on their lane.

    A lane runs one task at a time; in a damaged or forged file a span that starts before the
    previous one on its lane ended is shown from that end (the same rule as for other tools'
    traces). Returns each span's note ("" for most).
    """
    notes = [""] * len(spans)
    lane_end: dict[tuple[int, int], float] = {}
    for index, span in enumerate(spans):
        key = (span.pid, span.tid)
        previous = lane_end.get(key)
        if previous is not None and span.start < previous:
            if previous - span.start > _TOLERANCE_US:
                notes[index] = _CLIPPED
            span = spans[index] = span._replace(start=previous, end=max(span.end, previous))
        lane_end[key] = span.end
    return notes


def _task_ids(spans: list[_Span], notes: list[str]) -> list[int]:
    """The task id of each span: the recorded one, unless that would not fit.

    Ids recorded once each, and no larger than about twice the number of spans, are kept (a
    run stopped early leaves gaps: tasks that never started). A span without a usable id, or
    with one seen before, takes the lowest id left free. Ids too sparse or too large to keep
    (``"task": 1000000000`` in a file of three spans) are renumbered 0 … n-1 in their
    recorded order. A task whose id changed says so in its result, and memory follows the
    number of spans, never the size of an id.
    """
    count = len(spans)
    seen: set[int] = set()
    kept: list[int | None] = []  # the recorded id, where it is usable and first seen here
    for span in spans:
        if span.task is None or span.task in seen:
            kept.append(None)
        else:
            seen.add(span.task)
            kept.append(span.task)
    largest = max(seen, default=-1)
    if largest < 2 * count + 1024:
        ids: list[int] = []
        free = 0
        for task in kept:
            if task is None:
                while free in seen:
                    free += 1
                task = free
                seen.add(task)
            ids.append(task)
    else:
        order = sorted(
            range(count),
            key=lambda i: (kept[i] is None, kept[i] if kept[i] is not None else 0, i),
        )
        ids = [0] * count
        for new, index in enumerate(order):
            ids[index] = new
    for index, (span, task) in enumerate(zip(spans, ids, strict=True)):
        if span.task is not None and span.task != task:
            said = f"recorded as task {span.task}"
            notes[index] = f"{said} · {notes[index]}" if notes[index] else said
    return ids


def _build(
    name: str,
    spans: list[_Span],
    downs: list[_Down],
    readings: list[_Reading],
    meta: dict[str, Any],
) -> Recording:
    ours = meta.get("format") == "concviz-trace"
    spans.sort(key=attrgetter("start"))
    # concviz writes times from the run's start; another tool's clock starts anywhere.
    first = min(0.0, spans[0].start) if ours else spans[0].start

    def ns(us: float) -> int:
        return ORIGIN_NS + round((us - first) * 1000)

    def ns_checked(us: float | None) -> int | None:
        """A time from the file other than a span's (a receipt, a counter) or None if it is
        before the first span or past what the trace can hold."""
        if us is None:
            return None
        offset = (us - first) * 1000
        return ORIGIN_NS + round(offset) if 0 <= offset <= _MAX_OFFSET_NS else None

    lanes_meta: dict[tuple[int, int], dict[str, Any]] = {}
    lanes = meta.get("lanes") if ours else None
    for lane in lanes if isinstance(lanes, list) else []:
        if isinstance(lane, dict):
            os_pid, os_tid = _ident(lane.get("os_pid")), _ident(lane.get("os_tid"))
            if os_pid is not None and os_tid is not None:
                lanes_meta[(os_pid, os_tid)] = lane
    pids = {span.pid for span in spans}
    several = len(pids) == 1 and len({(span.pid, span.tid) for span in spans}) > 1
    default_kind = events.LANE_THREAD if several else events.LANE_PROC
    recorded = {lane.get("kind") for lane in lanes_meta.values()}
    if len(recorded) == 1 and next(iter(recorded)) in _LANE_KINDS:  # the run's own, as recorded
        default_kind = str(next(iter(recorded)))

    if ours:
        notes = _one_at_a_time(spans)
        task_ids = _task_ids(spans, notes)
    else:
        # concviz writes one span per task; another tool may nest calls inside calls.
        by_lane: dict[tuple[int, int], list[_Span]] = {}
        for span in spans:
            by_lane.setdefault((span.pid, span.tid), []).append(span)
        tops = sorted(
            (top for lane_spans in by_lane.values() for top in _top_level(lane_spans)),
            key=attrgetter("start"),
        )
        del by_lane
        spans = [
            top.span
            if (top.start, top.end) == (top.span.start, top.span.end)
            else top.span._replace(start=top.start, end=top.end)
            for top in tops
        ]
        notes = [
            " · ".join(part for part in (top.summary(), _CLIPPED if top.clipped else "") if part)
            for top in tops
        ]
        del tops
        task_ids = list(range(len(spans)))
    count = max(task_ids) + 1

    def lane_kind(lane: dict[str, Any]) -> str:
        kind = lane.get("kind")
        return kind if kind in _LANE_KINDS else default_kind

    def start_method(lane: dict[str, Any]) -> str | None:
        method = lane.get("start_method")
        return _text(method, 40) if isinstance(method, str) and method else None

    # Events and their times side by side: one sort of the times orders them all.
    out: list[events.Event] = []
    times: list[int] = []
    announced: set[tuple[int, int]] = set()
    # concviz's own lanes come back in their recorded order, so labels (proc 1, proc 2) match.
    for key, lane in lanes_meta.items():
        out.append(
            events.worker_up(key[0], key[1], ORIGIN_NS - 1, lane_kind(lane), start_method(lane))
        )
        times.append(ORIGIN_NS - 1)
        announced.add(key)
    inputs = [""] * count
    received: list[int | None] = [None] * count
    cpu_measured = True
    # Taken from the end of reversed lists: each span is let go as soon as it is read.
    spans.reverse()
    notes.reverse()
    task_ids.reverse()
    while spans:
        span, note, task = spans.pop(), notes.pop(), task_ids.pop()
        key = (span.pid, span.tid)
        start, end = ns(span.start), ns(span.end)
        if key not in announced:
            announced.add(key)
            lane = lanes_meta.get(key, {})
            out.append(
                events.worker_up(key[0], key[1], start - 1, lane_kind(lane), start_method(lane))
            )
            times.append(start - 1)
        # Unknown CPU time stays unknown: counting the span's length would draw it as on CPU.
        # A measured one is at most the span's length (a thread computes one task at a time).
        cpu_us, duration = span.cpu_us, end - start
        if cpu_us is None or cpu_us < 0:
            cpu, cpu_measured = UNSET, False
        else:
            cpu = duration if cpu_us * 1000 >= duration else int(cpu_us * 1000)
        inputs[task] = span.input if span.input is not None else span.name
        if span.result is None:
            text = note or span.name
        else:
            text = f"{span.result} · {note}" if note else span.result
        given = ns_checked(span.submitted_us)
        if given is not None and given <= start:
            out.append(events.task_submitted(task, given))
            times.append(given)
        waited = UNSET
        if span.wait_us is not None and span.wait_us >= 0 and cpu != UNSET:
            waited = min(int(span.wait_us * 1000), duration - cpu)
        out.append(events.task_started(task, key[0], key[1], start))
        times.append(start)
        out.append(
            events.task_finished(
                task,
                key[0],
                key[1],
                end,
                cpu,
                span.status,
                text[:_RESULT_CHARS],
                span.error,
                waited,
                UNSET if span.input_bytes is None else span.input_bytes,
                UNSET if span.result_bytes is None else span.result_bytes,
            )  # fmt: skip
        )
        times.append(end)
        receipt = ns_checked(span.received_us)
        received[task] = receipt if receipt is not None else end
    del spans, notes, task_ids
    # The order the run received results in (ties in task order, as the trace kept them).
    for task, receipt in enumerate(received):
        if receipt is not None:
            out.append(events.task_result(task, receipt))
            times.append(receipt)
    del received
    for (os_pid, os_tid), lane in lanes_meta.items():  # worker processes' start-up
        created, ready = (
            ns_checked(_time(lane.get("created_us"))),
            ns_checked(_time(lane.get("ready_us"))),
        )
        process = os_pid == os_tid or lane.get("kind") in events.PROCESS_LANES
        whose = os_tid if lane.get("kind") == events.LANE_INTERP else os_pid if process else None
        if whose is not None and created is not None and ready is not None and ready >= created:
            out.append(events.worker_ready(whose, ready, created))
            times.append(ready)
    lost = meta.get("lost") if ours else None
    for attempt in lost if isinstance(lost, list) else []:
        if isinstance(attempt, dict):
            said = _lost_attempt(attempt, ns_checked, count)
            if said is not None:
                out.append(said)
                times.append(said[5])
    if ours:
        for down in downs:
            at = ns_checked(down.ts)
            if at is not None:
                out.append(events.worker_down(down.pid, at, down.exitcode))
                times.append(at)
    order = sorted(range(len(out)), key=times.__getitem__)  # stable: ties keep their order
    end_ns = max(times)
    del times
    out = [out[i] for i in order]
    del order

    spec = meta.get("concviz") if ours else None
    recorded_note = meta.get("note")
    outside = _number(meta.get("outside_load_cores")) if ours else None
    info = {
        "version": events.VERSION,
        "spec": _tame(spec)
        if isinstance(spec, dict)
        else {"workload": _text(Path(name).stem), "backend": "recorded"},
        "note": [_text(line) for line in recorded_note[:4]]
        if isinstance(recorded_note, list) and recorded_note
        else ["A recorded run, replayed.", "Nothing in the file is executed: it is read as JSON."],
        "tasks": count,
        "inputs": inputs,
        "python": _tame(meta.get("python"))
        if ours and isinstance(meta.get("python"), dict)
        else {},
        "lane_kind": default_kind,
        "recording": name,
        "cpu_measured": cpu_measured,
        "outside_cores": outside if outside is not None and 0 <= outside <= _MAX_CORES else None,
    }
    dask = meta.get("dask") if ours else None
    if isinstance(dask, dict):
        info["dask"] = _tame(dask)
    begin = ORIGIN_NS
    wall_us = _number(meta.get("wall_us")) if ours else None
    finish = end_ns
    if wall_us is not None and 0 < wall_us * 1000 <= _MAX_OFFSET_NS:
        finish = begin + round(wall_us * 1000)
    detail = meta.get("detail") if ours else None
    out.insert(0, events.run_started(begin - 1, info))
    out.append(
        events.run_finished(
            max(finish, end_ns),
            begin,
            max(finish, end_ns),
            _tame(detail) if isinstance(detail, dict) else {},
        )
    )
    cores_at: dict[int, dict[int, float]] = {}
    for reading in readings:
        at = ns_checked(reading.ts)
        if at is not None:
            cores_at.setdefault(at, {})[reading.core] = reading.percent
    samples = [(t, [cores[c] for c in sorted(cores)]) for t, cores in sorted(cores_at.items())]
    return Recording(path=name, events=out, cpu=samples, foreign=not ours)
