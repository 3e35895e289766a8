"""Provides the Trace: a columnar store of one run's tasks and lanes, and its statistics.

Columns are ``array`` objects indexed by task id, so a million tasks cost tens of bytes each
instead of the hundreds a Python object per task would.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from workloads import events

UNSET = -1


class StrColumn:
    """Many short strings in one UTF-8 buffer with an offset table."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._start = array("q")
        self._length = array("i")

    def resize(self, count: int) -> None:
        grow = count - len(self._start)
        if grow > 0:
            self._start.extend([0] * grow)
            self._length.extend([UNSET] * grow)

    def __setitem__(self, index: int, text: str) -> None:
        raw = text.encode("utf-8", "replace")
        self._start[index] = len(self._data)
        self._length[index] = len(raw)
        self._data += raw

    def __getitem__(self, index: int) -> str | None:
        length = self._length[index]
        if length < 0:
            return None
        start = self._start[index]
        return self._data[start : start + length].decode("utf-8", "replace")

    def nbytes(self) -> int:
        return (
            len(self._data)
            + self._start.itemsize * len(self._start)
            + self._length.itemsize * len(self._length)
        )


@dataclass
class Lane:
    """One worker thread: (host, pid, native tid), with a small id and a readable label."""

    id: int
    pid: int
    tid: int
    kind: str
    index: int
    host: str = ""
    start_method: str | None = None
    up_ns: int = UNSET
    down_ns: int = UNSET
    exitcode: int | None = None
    tasks: int = 0
    busy_ns: int = 0
    cpu_ns: int = 0

    @property
    def label(self) -> str:
        if self.kind == events.LANE_THREAD:
            return f"thread {self.index} · pid {self.pid}/tid {self.tid}"
        if self.kind == events.LANE_MAIN:
            return f"main · pid {self.pid}"
        return f"proc {self.index} · pid {self.pid}"


@dataclass
class TaskView:
    """One task, read out of the columns."""

    task: int
    status: str
    lane: Lane | None
    input: str | None
    result: str | None
    error: str | None
    submit_ns: int
    start_ns: int
    end_ns: int
    recv_ns: int
    cpu_ns: int


@dataclass
class LaneStats:
    label: str
    pid: int
    tid: int
    kind: str
    tasks: int
    busy_s: float
    cpu_s: float
    busy_share: float
    exitcode: int | None


@dataclass
class RunStats:
    """The numbers a reader compares runs by."""

    wall_s: float
    busy_s: float
    cpu_s: float
    parallelism: float
    cpu_parallelism: float
    tasks: int
    ok: int
    errors: int
    crashed: int
    unfinished: int
    lanes: list[LaneStats] = field(default_factory=list)


class Trace:
    """Everything known about one run, fed by event batches in any order."""

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}
        self.t0_ns = UNSET  # the parent's clock when the run was asked for
        self.begin_ns = UNSET
        self.end_ns = UNSET
        self.detail: dict[str, Any] = {}
        self.failure: str | None = None
        self.finished = False
        self.lanes: list[Lane] = []
        self._lane_tasks: list[array[int]] = []
        self._lane_by_key: dict[tuple[int, int], int] = {}
        self._kind_count: dict[str, int] = {}
        self.count = 0
        self.submit = array("q")
        self.start = array("q")
        self.end = array("q")
        self.recv = array("q")
        self.cpu = array("q")
        self.lane = array("i")
        self.status = array("b")
        self.inputs = StrColumn()
        self.results = StrColumn()
        self.errors: dict[int, str] = {}
        self.recv_order = array("i")
        self.log: list[tuple[int, str]] = []
        self.worker_exits: dict[int, tuple[int, int | None]] = {}
        self.last_event_ns = UNSET

    # -- ingest -----------------------------------------------------------------------------

    def resize(self, count: int) -> None:
        """Make room for tasks ``0 .. count-1``."""
        grow = count - self.count
        if grow <= 0:
            return
        for column in (self.submit, self.start, self.end, self.recv, self.cpu):
            column.extend(array("q", [UNSET]) * grow)
        self.lane.extend(array("i", [UNSET]) * grow)
        self.status.extend(array("b", [events.PENDING]) * grow)
        self.inputs.resize(count)
        self.results.resize(count)
        self.count = count

    def lane_for(self, pid: int, tid: int, kind: str | None = None) -> Lane:
        """The lane of worker thread ``(pid, tid)``, created on first sight."""
        key = (pid, tid)
        index = self._lane_by_key.get(key)
        if index is not None:
            return self.lanes[index]
        kind = kind or self.info.get("lane_kind", events.LANE_PROC)
        number = self._kind_count.get(kind, 0) + 1
        self._kind_count[kind] = number
        lane = Lane(id=len(self.lanes), pid=pid, tid=tid, kind=kind, index=number)
        self._lane_by_key[key] = lane.id
        self.lanes.append(lane)
        self._lane_tasks.append(array("i"))
        return lane

    def lane_tasks(self, lane_id: int) -> array[int]:
        """Ids of the tasks that ran on a lane, in the order they were seen to start."""
        return self._lane_tasks[lane_id]

    def _place(self, task: int, lane: Lane) -> None:
        if self.lane[task] == UNSET:
            self.lane[task] = lane.id
            self._lane_tasks[lane.id].append(task)

    def ingest(self, batch: Iterable[events.Event]) -> bool:
        """Apply a batch of events; True when any of them shows task progress."""
        progress = False
        for event in batch:
            kind = event[0]
            if kind == events.TASK_STARTED:
                _, task, pid, tid, t = event
                self._ensure(task)
                self.start[task] = t
                lane = self.lane_for(pid, tid)
                self._place(task, lane)
                if self.end[task] != UNSET:  # the end arrived first
                    lane.busy_ns += self.end[task] - t
                if self.status[task] == events.PENDING:
                    self.status[task] = events.RUNNING
                progress = True
            elif kind == events.TASK_FINISHED:
                _, task, pid, tid, t, cpu, status, result, error = event
                self._ensure(task)
                lane = self.lane_for(pid, tid)
                self.end[task] = t
                self.cpu[task] = cpu
                self._place(task, lane)
                self.status[task] = status
                self.results[task] = result
                if error:
                    self.errors[task] = error
                lane.tasks += 1
                if self.start[task] != UNSET:
                    lane.busy_ns += t - self.start[task]
                lane.cpu_ns += cpu
                progress = True
            elif kind == events.TASK_SUBMITTED:
                self._ensure(event[1])
                self.submit[event[1]] = event[2]
            elif kind == events.TASK_RESULT:
                self._ensure(event[1])
                self.recv[event[1]] = event[2]
                self.recv_order.append(event[1])
                progress = True
            elif kind == events.WORKER_UP:
                _, pid, tid, t, lane_kind, start_method = event
                lane = self.lane_for(pid, tid, lane_kind)
                lane.up_ns = t
                lane.start_method = start_method
                progress = True
            elif kind == events.WORKER_DOWN:
                _, pid, t, code = event
                self.worker_exits[pid] = (t, code)
                for lane in self.lanes:
                    if lane.pid == pid:
                        lane.down_ns = t
                        lane.exitcode = code
            elif kind == events.RUN_STARTED:
                # The inputs move into a column; the info keeps everything else.
                self.info = {k: v for k, v in event[2].items() if k != "inputs"}
                self.resize(int(self.info.get("tasks", 0)))
                for task, text in enumerate(event[2].get("inputs", ())):
                    self.inputs[task] = text
            elif kind == events.RUN_FINISHED:
                _, _, self.begin_ns, self.end_ns, self.detail = event
                self.finished = True
            elif kind == events.RUN_FAILED:
                self.failure = event[2]
                self.finished = True
            elif kind == events.LOG:
                self.log.append((event[1], event[2]))
        return progress

    def _ensure(self, task: int) -> None:
        if task >= self.count:
            self.resize(task + 1)

    # -- reading ----------------------------------------------------------------------------

    def task(self, task: int) -> TaskView:
        """One task's record."""
        lane_id = self.lane[task]
        return TaskView(
            task=task,
            status=events.STATUS_NAMES[self.status[task]],
            lane=self.lanes[lane_id] if lane_id >= 0 else None,
            input=self.inputs[task],
            result=self.results[task],
            error=self.errors.get(task),
            submit_ns=self.submit[task],
            start_ns=self.start[task],
            end_ns=self.end[task],
            recv_ns=self.recv[task],
            cpu_ns=self.cpu[task],
        )

    def tasks(self) -> Iterator[TaskView]:
        for task in range(self.count):
            yield self.task(task)

    def with_status(self, *statuses: int) -> list[int]:
        """Task ids whose status is one of ``statuses``."""
        wanted = set(statuses)
        return [task for task in range(self.count) if self.status[task] in wanted]

    def mark(self, tasks: Iterable[int], status: int) -> None:
        """Set the status of tasks that ended without their own word (stalled, cancelled)."""
        for task in tasks:
            self.status[task] = status

    def span_ns(self) -> tuple[int, int]:
        """The run's measured interval: executor created to shut down (or what was seen)."""
        if self.begin_ns != UNSET and self.end_ns != UNSET:
            return self.begin_ns, self.end_ns
        starts = [t for t in self.start if t != UNSET]
        ends = [t for t in self.end if t != UNSET]
        if not starts:
            return 0, 0
        return min(starts), max(ends or starts)

    def stats(self) -> RunStats:
        """Wall time, busy and CPU time, parallelism, per-lane shares and task counts."""
        begin, end = self.span_ns()
        wall = max(end - begin, 0) / 1e9
        busy = sum(lane.busy_ns for lane in self.lanes) / 1e9
        cpu = sum(lane.cpu_ns for lane in self.lanes) / 1e9
        counts = {code: 0 for code in events.STATUS_NAMES}
        for code in self.status:
            counts[code] += 1
        lanes = [
            LaneStats(
                label=lane.label,
                pid=lane.pid,
                tid=lane.tid,
                kind=lane.kind,
                tasks=lane.tasks,
                busy_s=lane.busy_ns / 1e9,
                cpu_s=lane.cpu_ns / 1e9,
                busy_share=(lane.busy_ns / 1e9 / wall) if wall else 0.0,
                exitcode=lane.exitcode,
            )
            for lane in self.lanes
        ]
        return RunStats(
            wall_s=wall,
            busy_s=busy,
            cpu_s=cpu,
            parallelism=busy / wall if wall else 0.0,
            cpu_parallelism=cpu / wall if wall else 0.0,
            tasks=self.count,
            ok=counts[events.OK],
            errors=counts[events.ERROR],
            crashed=counts[events.CRASHED],
            unfinished=self.count
            - counts[events.OK]
            - counts[events.ERROR]
            - counts[events.CRASHED],
            lanes=lanes,
        )
