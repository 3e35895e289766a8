"""Provides recordings: a Chrome trace file read back into concviz events, for replay.

Reading a trace only parses JSON: nothing in the file is ever executed. Files written by
concviz replay exactly (lanes, CPU share, results, per-core CPU); other tools' traces
(VizTracer, Ray, chrome://tracing) show as far as they are understood: one lane per
pid/tid, a task per top-level complete ("X") event of the lane, the calls nested inside it
named in its result, and no CPU time where the file records none.
"""

from __future__ import annotations

import heapq
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workloads import events
from workloads.trace import UNSET

ORIGIN_NS = 1_000_000_000  # recorded time 0 (the clock is arbitrary; 0 would read as unset)

_STATUS = {name: code for code, name in events.STATUS_NAMES.items()}

# Chrome traces keep float microseconds: a nested call's end can come out a hair after its
# caller's, and a lane's next call can start a hair before the previous one ends.
_TOLERANCE_US = 1.0
_RESULT_CHARS = 200  # a task's result is shown on one line
# VizTracer names a Python function "qualname (file:line)"; the summary keeps the qualname.
_LOCATION = re.compile(r"^(.*\S) \([^()]*:\d+\)$")


class TraceFileError(ValueError):
    """The file cannot be replayed; the message is one line for the user."""


@dataclass
class Recording:
    """A run as events in time order, with its per-core CPU readings."""

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
    kind = event[0]
    if kind in (events.TASK_STARTED, events.TASK_FINISHED):
        return int(event[4])
    if kind == events.WORKER_UP:
        return int(event[3])
    if kind == events.WORKER_DOWN:
        return int(event[2])
    if kind in (events.TASK_SUBMITTED, events.TASK_RESULT):
        return int(event[2])
    return int(event[1])


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def load_recording(path: str | Path) -> Recording:
    """Read a Chrome trace (object or array form); raises TraceFileError with the reason."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise TraceFileError(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TraceFileError(
            f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}): truncated or damaged?"
        ) from None
    meta: dict[str, Any] = {}
    if isinstance(data, dict):
        raw = data.get("traceEvents")
        if isinstance(data.get("metadata"), dict):
            meta = data["metadata"]
    else:
        raw = data
    if not isinstance(raw, list):
        raise TraceFileError(f"{name} is not a Chrome trace: no traceEvents list")
    return _build(name, [e for e in raw if isinstance(e, dict)], meta)


def _args(event: dict[str, Any]) -> dict[str, Any]:
    args = event.get("args")
    return args if isinstance(args, dict) else {}


@dataclass
class _TopSpan:
    """A lane's top-level span of a foreign trace, with what ran nested inside it."""

    start: float
    end: float
    event: dict[str, Any]
    calls: Counter[str] = field(default_factory=Counter)
    depth: int = 0
    clipped: bool = False

    def summary(self) -> str:
        """Its nested calls in one short line, most frequent first."""
        total = sum(self.calls.values())
        if not total:
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


def _top_level(spans: list[tuple[float, float, dict[str, Any]]]) -> list[_TopSpan]:
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
    heap = [(start, -end, order) for order, (start, end, _) in enumerate(spans)]
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
            top.calls[str(spans[order][2].get("name", ""))] += 1
            top.depth = max(top.depth, len(open_ends))
            continue
        if top is not None and start < top.end:
            heapq.heappush(heap, (top.end, negative_end, order))
            clipped.add(order)
            continue
        tops.append(_TopSpan(start, end, spans[order][2], clipped=order in clipped))
        open_ends.clear()
    return tops


def _build(name: str, raw: list[dict[str, Any]], meta: dict[str, Any]) -> Recording:
    spans: list[tuple[float, float, dict[str, Any]]] = []  # (start µs, end µs, event)
    for event in raw:
        if event.get("ph") != "X":
            continue
        ts, dur = _number(event.get("ts")), _number(event.get("dur", 0))
        if ts is None or dur is None or dur < 0:
            continue
        spans.append((ts, ts + dur, event))
    if not spans:
        raise TraceFileError(f'{name} has no task spans ("ph": "X" events) to show')
    ours = meta.get("format") == "concviz-trace"
    spans.sort(key=lambda s: s[0])
    first = 0.0 if ours else spans[0][0]  # concviz writes times from the run's start

    def ns(us: float) -> int:
        return ORIGIN_NS + int(round((us - first) * 1000))

    lanes_meta: dict[tuple[Any, Any], dict[str, Any]] = {}
    for lane in meta.get("lanes", []) if ours else []:
        if isinstance(lane, dict):
            lanes_meta[(lane.get("os_pid"), lane.get("os_tid"))] = lane
    keys = []
    for _, _, event in spans:
        args = _args(event)
        pid = args.get("os_pid", event.get("pid", 0))
        tid = args.get("os_tid", event.get("tid", 0))
        keys.append(
            (
                int(pid) if _number(pid) is not None else 0,
                int(tid) if _number(tid) is not None else 0,
            )
        )
    pids = {k[0] for k in keys}
    default_kind = events.LANE_THREAD if len(pids) == 1 and len(set(keys)) > 1 else events.LANE_PROC
    notes = [""] * len(spans)  # what a task's span contained, for its result
    if not ours:
        # concviz writes one span per task; another tool may nest calls inside calls.
        by_lane: dict[tuple[int, int], list[tuple[float, float, dict[str, Any]]]] = {}
        for span, key in zip(spans, keys, strict=True):
            by_lane.setdefault(key, []).append(span)
        tasks = sorted(
            ((top, key) for key, lane_spans in by_lane.items() for top in _top_level(lane_spans)),
            key=lambda item: item[0].start,
        )
        spans = [(top.start, top.end, top.event) for top, _ in tasks]
        keys = [key for _, key in tasks]
        notes = [
            " · ".join(
                part
                for part in (
                    top.summary(),
                    "started before the previous task ended; shown from that end"
                    if top.clipped
                    else "",
                )
                if part
            )
            for top, _ in tasks
        ]

    task_ids: list[int] = []
    seen: set[int] = set()
    for index, (_, _, event) in enumerate(spans):
        args = _args(event)
        task = args.get("task")
        if ours and isinstance(task, int) and task >= 0 and task not in seen:
            task_ids.append(task)
        else:
            task_ids.append(index if index not in seen else max(seen) + 1)
        seen.add(task_ids[-1])
    count = max(task_ids) + 1

    inputs = [""] * count
    out: list[events.Event] = []
    announced: set[tuple[int, int]] = set()
    # concviz's own lanes come back in their recorded order, so labels (proc 1, proc 2) match.
    for (os_pid, os_tid), lane in lanes_meta.items():
        if isinstance(os_pid, int) and isinstance(os_tid, int):
            kind = str(lane.get("kind") or default_kind)
            start_method = lane.get("start_method")
            out.append(
                events.worker_up(
                    os_pid, os_tid, ORIGIN_NS - 1, kind, str(start_method) if start_method else None
                )
            )
            announced.add((os_pid, os_tid))
    finished: list[tuple[int, int]] = []
    cpu_measured = True
    for (ts, te, event), key, task, note in zip(spans, keys, task_ids, notes, strict=True):
        args = _args(event)
        start, end = ns(ts), ns(te)
        if key not in announced:
            announced.add(key)
            lane = lanes_meta.get(key, {})
            kind = str(lane.get("kind") or default_kind)
            if kind not in (events.LANE_PROC, events.LANE_THREAD, events.LANE_MAIN):
                kind = default_kind
            out.append(events.worker_up(key[0], key[1], start - 1, kind, lane.get("start_method")))
        cpu_us = _number(args.get("cpu_us"))
        # Unknown CPU time stays unknown: counting the span's length would draw it as on CPU.
        cpu = int(cpu_us * 1000) if cpu_us is not None else UNSET
        cpu_measured = cpu_measured and cpu_us is not None
        status = _STATUS.get(str(args.get("status", "ok")), events.OK)
        if status in (events.PENDING, events.RUNNING):
            status = events.OK
        result = args.get("result")
        error = args.get("error")
        inputs[task] = str(
            args.get("input") if args.get("input") is not None else event.get("name", "")
        )[:200]
        out.append(events.task_started(task, key[0], key[1], start))
        if result is None:
            text = note or str(event.get("name", ""))
        else:
            text = f"{result} · {note}" if note else str(result)
        out.append(
            events.task_finished(
                task,
                key[0],
                key[1],
                end,
                cpu,
                status,
                text[:_RESULT_CHARS],
                str(error)[:200] if error else None,
            )
        )
        received = _number(args.get("received_us"))
        finished.append((ns(received) if received is not None else end, task))
    for received_ns, task in sorted(finished):  # the order the run received results in
        out.append(events.task_result(task, received_ns))
    for event in raw:
        if event.get("ph") == "i" and event.get("name") == "worker down" and ours:
            args = _args(event)
            ts = _number(event.get("ts"))
            if ts is not None and isinstance(args.get("os_pid"), int):
                out.append(events.worker_down(args["os_pid"], ns(ts), args.get("exitcode")))
    end_ns = max(replay_time(e) for e in out)
    spec = (
        meta.get("concviz")
        if ours and isinstance(meta.get("concviz"), dict)
        else {"workload": Path(name).stem, "backend": "recorded"}
    )
    info = {
        "version": events.VERSION,
        "spec": spec,
        "note": meta.get("note")
        or ["A recorded run, replayed.", "Nothing in the file is executed: it is read as JSON."],
        "tasks": count,
        "inputs": inputs,
        "python": meta.get("python") if ours else {},
        "lane_kind": default_kind,
        "recording": name,
        "cpu_measured": cpu_measured,
        "outside_cores": _number(meta.get("outside_load_cores")) if ours else None,
    }
    out.sort(key=replay_time)
    begin = ORIGIN_NS
    wall_us = _number(meta.get("wall_us")) if ours else None
    finish = begin + int(wall_us * 1000) if wall_us else end_ns
    out.insert(0, events.run_started(begin - 1, info))
    out.append(
        events.run_finished(
            max(finish, end_ns),
            begin,
            max(finish, end_ns),
            dict(meta.get("detail") or {}) if ours else {},
        )
    )
    readings: dict[int, dict[int, float]] = {}
    for event in raw:
        name_ = str(event.get("name", ""))
        ts = _number(event.get("ts"))
        if event.get("ph") == "C" and name_.startswith("cpu ") and ts is not None:
            args = _args(event)
            value = _number(args.get("percent"))
            core = name_[4:]
            if value is not None and core.isdigit():
                readings.setdefault(ns(ts), {})[int(core)] = value
    samples = [(t, [cores[c] for c in sorted(cores)]) for t, cores in sorted(readings.items())]
    return Recording(path=name, events=out, cpu=samples, foreign=not ours)
