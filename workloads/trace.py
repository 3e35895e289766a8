"""Provides the Trace: a columnar store of one run's tasks and lanes, and its statistics.

Columns are ``array`` objects indexed by task id, so a million tasks cost tens of bytes each
instead of the hundreds a Python object per task would.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, Protocol

from workloads import events
from workloads.text import visible, visible_data

UNSET = -1


class StrColumn:
    """Many short strings in one UTF-8 buffer with an offset table (6 bytes a string + text)."""

    MAX_BYTES = 0xFFFE
    _MISSING = 0xFFFF

    def __init__(self) -> None:
        self._data = bytearray()
        self._start = array("I")
        self._length = array("H")

    def resize(self, count: int) -> None:
        grow = count - len(self._start)
        if grow > 0:
            self._start.extend(array("I", [0]) * grow)
            self._length.extend(array("H", [self._MISSING]) * grow)

    def __setitem__(self, index: int, text: str) -> None:
        raw = text.encode("utf-8", "replace")[: self.MAX_BYTES]
        if len(self._data) + len(raw) > 0xFFFFFFFF:
            raw = b"..."  # past 4 GiB of text a run keeps no more of it
        self._start[index] = len(self._data)
        self._length[index] = len(raw)
        self._data += raw

    def fill(self, texts: list[str]) -> None:
        """Set items ``0 .. len(texts)-1`` at once (a run's inputs: a million in one go)."""
        raws = [text.encode("utf-8", "replace")[: self.MAX_BYTES] for text in texts]
        offset = len(self._data)
        lengths = array("H", map(len, raws))
        if offset + sum(lengths) > 0xFFFFFFFF:
            for index, text in enumerate(texts):
                self[index] = text
            return
        starts = array("I", accumulate(lengths, initial=offset))
        del starts[-1]
        self.resize(len(texts))
        self._start[: len(texts)] = starts
        self._length[: len(texts)] = lengths
        self._data += b"".join(raws)

    def __getitem__(self, index: int) -> str | None:
        length = self._length[index]
        if length == self._MISSING:
            return None
        start = self._start[index]
        return self._data[start : start + length].decode("utf-8", "replace")


class Steps:
    """The steps of coroutines on an event loop's thread, in columns like the tasks' own (a
    loop lane's index reads these instead of the tasks)."""

    def __init__(self) -> None:
        self.count = 0
        self.task = array("i")
        self.start = array("q")
        self.end = array("q")
        self.cpu = array("q")
        self.status = array("b")

    def add(self, task: int, start: int, end: int, cpu: int) -> int:
        """Keep one step; its id."""
        self.task.append(task)
        self.start.append(start)
        self.end.append(end)
        self.cpu.append(cpu)
        self.status.append(events.OK)
        self.count += 1
        return self.count - 1


class LaneIndex:
    """The finished tasks of one lane in start order, with running sums of busy and CPU time.

    A lane runs one task at a time, so its tasks do not overlap and both their starts and ends
    are sorted: the busy and CPU time inside any time range take two binary searches, whatever
    the number of tasks. This keeps a timeline frame O(lanes × width × log tasks).
    """

    def __init__(self, trace: Trace | Steps) -> None:
        self._start = trace.start
        self._end = trace.end
        self._cpu = trace.cpu
        self._status = trace.status
        self.tasks = array("i")
        self.cum_busy = array("q", [0])
        self.cum_cpu = array("q", [0])
        self.failed: list[int] = []  # positions of failed tasks, in order

    def __len__(self) -> int:
        return len(self.tasks)

    def start_of(self, position: int) -> int:
        return self._start[self.tasks[position]]

    def end_of(self, position: int) -> int:
        return self._end[self.tasks[position]]

    def cpu_of(self, position: int) -> int:
        return self._cpu[self.tasks[position]]

    def add_span(self, task: int, start: int, end: int, cpu: int, failed: bool) -> None:
        """Record a finished task whose columns hold ``start``, ``end`` and ``cpu``."""
        tasks = self.tasks
        if tasks and start < self._start[tasks[-1]]:
            self.add(task, failed)
            return
        tasks.append(task)
        busy = end - start
        self.cum_busy.append(self.cum_busy[-1] + (busy if busy > 0 else 0))
        self.cum_cpu.append(self.cum_cpu[-1] + (cpu if cpu > 0 else 0))
        if failed:
            self.failed.append(len(tasks) - 1)

    def add(self, task: int, failed: bool) -> None:
        """Record a finished task (a lane's events arrive in order; a late one is inserted)."""
        start = self._start[task]
        if self.tasks and start < self.start_of(len(self.tasks) - 1):
            at = bisect_right(self.tasks, start, key=self._start.__getitem__)
            self.tasks.insert(at, task)
            del self.cum_busy[at + 1 :], self.cum_cpu[at + 1 :]
            self.failed = [p for p in self.failed if p < at]
            for position in range(at, len(self.tasks)):
                self._extend(position, self._failed_status(position))
            return
        self.tasks.append(task)
        self._extend(len(self.tasks) - 1, failed)

    def _failed_status(self, position: int) -> bool:
        return self._status[self.tasks[position]] in _FAILED

    def remove(self, task: int) -> None:
        """Forget a finished task (its record is about to be replaced: dask ran it again)."""
        tasks = self.tasks
        if task not in tasks:
            return
        at = tasks.index(task)
        del tasks[at]
        del self.cum_busy[at + 1 :], self.cum_cpu[at + 1 :]
        self.failed = [p for p in self.failed if p < at]
        for position in range(at, len(tasks)):
            self._extend(position, self._failed_status(position))

    def _extend(self, position: int, failed: bool) -> None:
        task = self.tasks[position]
        self.cum_busy.append(self.cum_busy[-1] + max(self._end[task] - self._start[task], 0))
        self.cum_cpu.append(self.cum_cpu[-1] + max(self._cpu[task], 0))
        if failed:
            self.failed.append(position)

    def until(self, t: float) -> tuple[float, float]:
        """Busy time and CPU time of this lane before ``t``."""
        k = self.at(t)
        if k < 0:
            return 0.0, 0.0
        task = self.tasks[k]
        start = self._start[task]
        duration = self._end[task] - start
        part = min(max(t - start, 0.0), float(duration))
        cpu_k = self.cum_cpu[k + 1] - self.cum_cpu[k]
        cpu = self.cum_cpu[k] + (cpu_k * part / duration if duration > 0 else 0.0)
        return self.cum_busy[k] + part, cpu

    def failures_between(self, a: float, b: float) -> bool:
        """Whether a failed task overlaps ``[a, b)``."""
        if not self.failed:
            return False
        first = bisect_right(self.tasks, a, key=self._end.__getitem__)
        last = self.at(b - 1)
        i = bisect_left(self.failed, first)
        return i < len(self.failed) and self.failed[i] <= last

    def at(self, t: float) -> int:
        """The position (in start order) of the last task that started at or before ``t``."""
        return bisect_right(self.tasks, t, key=self._start.__getitem__) - 1


_FAILED = frozenset((events.ERROR, events.CRASHED, events.STALLED))
_INT_CAP = 2**31 - 1  # sizes the byte columns hold


def left_text(task: int | None, pid: int, what: str) -> str:
    """``task 3 left pid 4711 running (sleep 301)``: one process a task left behind."""
    who = f"task {task}" if task is not None else "a task"
    return f"{who} left pid {pid} running ({what})"


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
        if self.kind == events.LANE_LOOP:
            return f"loop · pid {self.pid}/tid {self.tid} (steps)"
        if self.kind == events.LANE_INTERP:
            return f"interp {self.index} · pid {self.pid}/tid {self.tid}"
        if self.kind == events.LANE_CORO:
            return f"coro {self.index} · pid {self.pid} (one loop)"
        if self.kind == events.LANE_DASK:  # its worker's address, where the start method goes
            where = (self.start_method or "").removeprefix("tcp://")
            return f"dask {self.index} · pid {self.pid}/tid {self.tid} · {where}"
        if self.tid not in (self.pid, 0):  # another thread of a process (another tool's trace)
            return f"proc {self.index} · pid {self.pid}/tid {self.tid}"
        return f"proc {self.index} · pid {self.pid}"


class WorkerIds(Protocol):
    """What tells a lane's worker: a Lane, or a lane's statistics."""

    @property
    def kind(self) -> str: ...
    @property
    def pid(self) -> int: ...
    @property
    def tid(self) -> int: ...


def startup_key(lane: WorkerIds) -> int:
    """Whose start-up a lane shows: its process's, its sub-interpreter thread's, or none (0)."""
    if lane.kind in events.PROCESS_LANES:
        return lane.pid
    if lane.kind == events.LANE_INTERP:
        return lane.tid
    return 0


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
    wait_ns: int = UNSET  # waiting for a core (UNSET: not measured)
    in_bytes: int = UNSET  # pickled input and result (UNSET: not pickled)
    out_bytes: int = UNSET


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
        self.index: list[LaneIndex] = []  # per lane, finished tasks by time
        self.running: dict[int, int] = {}  # lane id -> the task running on it
        # Attempts lost with their worker (dask runs the task again): (task, lane id, start, end)
        self.lost: list[tuple[int, int, int, int]] = []
        self.stopped_ns = UNSET  # when a stalled or cancelled run was stopped
        self.outside_cores: float | None = None  # cores other processes used during the run
        self._lane_by_key: dict[tuple[int, int], int] = {}
        self._kind_count: dict[str, int] = {}
        self.count = 0
        self.submit = array("q")
        self.start = array("q")
        self.end = array("q")
        self.recv = array("q")
        self.cpu = array("q")
        self.wait = array("q")  # run-queue time (waiting for a core), UNSET: not measured
        self.in_bytes = array("i")  # pickled input and result sizes, UNSET: not pickled
        self.out_bytes = array("i")
        self.lane = array("i")
        self.status = array("b")
        self.steps = Steps()  # coroutine steps on loop lanes (asyncio)
        self.inputs = StrColumn()
        self.results = StrColumn()
        self.errors: dict[int, str] = {}
        self.left: dict[int, tuple[tuple[int, str], ...]] = {}  # processes a task left running
        self.recv_order = array("i")
        self.cpu_samples: list[tuple[int, list[float]]] = []  # (time, percent per core)
        self.workers: dict[int, tuple[int, int]] = {}  # pid -> (created, ready) of a process
        self.first_ns = UNSET  # earliest submit or start seen
        self.last_ns = UNSET  # latest start or end seen
        self.counts = [0] * len(events.STATUS_NAMES)  # tasks per status, kept as they change

    # -- ingest -----------------------------------------------------------------------------

    def resize(self, count: int) -> None:
        """Make room for tasks ``0 .. count-1``."""
        grow = count - self.count
        if grow <= 0:
            return
        for column in (self.submit, self.start, self.end, self.recv, self.cpu, self.wait):
            column.extend(array("q", [UNSET]) * grow)
        for small in (self.lane, self.in_bytes, self.out_bytes):
            small.extend(array("i", [UNSET]) * grow)
        self.status.extend(array("b", [events.PENDING]) * grow)
        self.counts[events.PENDING] += grow
        self.inputs.resize(count)
        self.results.resize(count)
        self.count = count

    def add_cpu_sample(self, t: int, cores: list[float]) -> None:
        """A per-core CPU reading taken during the run (kept for export and replay)."""
        self.cpu_samples.append((t, list(cores)))

    def _set_status(self, task: int, status: int) -> None:
        counts = self.counts
        counts[self.status[task]] -= 1
        counts[status] += 1
        self.status[task] = status

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
        # The index exists before the lane is visible to readers on other threads.
        self.index.append(LaneIndex(self.steps if kind == events.LANE_LOOP else self))
        self._lane_by_key[key] = lane.id
        self.lanes.append(lane)
        return lane

    def ingest(self, batch: Iterable[events.Event]) -> bool:
        """Apply a batch of events; True when any of them shows task progress.

        Text from outside (results, errors, inputs, the run's info, a recording's strings)
        is kept with its control characters made visible: whatever shows it prints no
        terminal escape. A result costs one ``isprintable`` check when there is nothing to do.
        """
        progress = False
        # The columns and counters the per-task events touch, looked up once per batch.
        start, end, cpu_column, lanes_of, statuses = (
            self.start,
            self.end,
            self.cpu,
            self.lane,
            self.status,
        )
        counts, lane_by_key, lanes, index, running = (
            self.counts,
            self._lane_by_key,
            self.lanes,
            self.index,
            self.running,
        )
        results, wait_column, in_column, out_column = (
            self.results,
            self.wait,
            self.in_bytes,
            self.out_bytes,
        )
        first, last = self.first_ns, self.last_ns
        for event in batch:
            if event[0] == events.TASK_DONE:
                _, task, pid, tid, t0, t1, cpu, status, result, error, waited, inb, outb = event
                if task >= self.count:
                    self.resize(task + 1)
                wait_column[task] = waited
                in_column[task] = inb if inb < _INT_CAP else _INT_CAP
                out_column[task] = outb if outb < _INT_CAP else _INT_CAP
                lane_id = lane_by_key.get((pid, tid))
                if lane_id is None:
                    lane_id = self.lane_for(pid, tid).id
                lane = lanes[lane_id]
                if end[task] != UNSET and lanes_of[task] >= 0:
                    self._ran_again(task)
                start[task] = t0
                end[task] = t1
                cpu_column[task] = cpu
                lanes_of[task] = lane_id
                counts[statuses[task]] -= 1
                counts[status] += 1
                statuses[task] = status
                results[task] = result if result.isprintable() else visible(result)
                if error:
                    self.errors[task] = error if error.isprintable() else visible(error)
                lane.tasks += 1
                lane.busy_ns += t1 - t0
                lane.cpu_ns += cpu if cpu > 0 else 0  # UNSET (-1) is a CPU time not recorded
                index[lane_id].add_span(task, t0, t1, cpu, status in _FAILED)
                if running.get(lane_id) == task:
                    del running[lane_id]
                if first == UNSET or t0 < first:
                    first = t0
                if t1 > last:
                    last = t1
                progress = True
            elif event[0] == events.TASK_SUBMITTED:
                _, task, t = event
                if task >= self.count:
                    self.resize(task + 1)
                self.submit[task] = t
                if first == UNSET or t < first:
                    first = t
                if t > last:
                    last = t
            elif event[0] == events.TASK_RESULT:
                _, task, t = event
                if task >= self.count:
                    self.resize(task + 1)
                self.recv[task] = t
                self.recv_order.append(task)
                progress = True
            elif event[0] == events.TASK_STARTED:
                _, task, pid, tid, t = event
                self._ensure(task)
                progress = True
                if start[task] != UNSET and end[task] != UNSET:
                    continue  # told running after its whole record: nothing new
                start[task] = t
                if first == UNSET or t < first:
                    first = t
                if t > last:
                    last = t
                lane = self.lane_for(pid, tid)
                lanes_of[task] = lane.id
                if end[task] != UNSET:  # the end arrived first
                    lane.busy_ns += end[task] - t
                    index[lane.id].add(task, statuses[task] in _FAILED)
                else:
                    running[lane.id] = task
                if statuses[task] == events.PENDING:
                    self._set_status(task, events.RUNNING)
            elif event[0] == events.TASK_FINISHED:
                _, task, pid, tid, t, cpu, status, result, error, waited, inb, outb = event
                self._ensure(task)
                wait_column[task] = waited
                in_column[task] = min(inb, _INT_CAP)
                out_column[task] = min(outb, _INT_CAP)
                lane = self.lane_for(pid, tid)
                end[task] = t
                if first == UNSET or t < first:
                    first = t
                if t > last:
                    last = t
                cpu_column[task] = cpu
                lanes_of[task] = lane.id
                self._set_status(task, status)
                results[task] = result if result.isprintable() else visible(result)
                if error:
                    self.errors[task] = error if error.isprintable() else visible(error)
                lane.tasks += 1
                if start[task] != UNSET:
                    lane.busy_ns += t - start[task]
                    index[lane.id].add(task, status in _FAILED)
                if running.get(lane.id) == task:
                    del running[lane.id]
                lane.cpu_ns += max(cpu, 0)  # UNSET (-1) is a CPU time not recorded, not a time
                progress = True
            elif event[0] == events.RUN_ENDED:
                self.first_ns, self.last_ns = first, last
                self._ended(*event[1:])
                first, last = self.first_ns, self.last_ns
            elif event[0] == events.TASK_LEFT:
                self.left[event[1]] = tuple((pid, visible(what)) for pid, what in event[4])
            elif event[0] == events.WORKER_UP:
                _, pid, tid, t, lane_kind, start_method = event
                lane = self.lane_for(pid, tid, lane_kind)
                if lane.kind != lane_kind:  # seen running before it said what it is: it says
                    number = self._kind_count.get(lane_kind, 0) + 1
                    self._kind_count[lane_kind] = number
                    lane.kind, lane.index = lane_kind, number
                lane.up_ns = t
                lane.start_method = visible(start_method) if start_method else start_method
                progress = True
            elif event[0] == events.STEP:
                _, task, pid, tid, t0, t1, cpu = event
                lane = self.lane_for(pid, tid, events.LANE_LOOP)
                if lane.kind == events.LANE_LOOP:
                    index[lane.id].add_span(self.steps.add(task, t0, t1, cpu), t0, t1, cpu, False)
                    if t1 > last:
                        last = t1
            elif event[0] == events.WORKER_READY:
                _, pid, t, created = event
                self.workers[pid] = (created, t)
                # The run's time begins with its first worker's creation (a cluster's, before
                # anything is submitted); one started before the run asked (a running
                # cluster's) does not stretch it.
                recent = created != events.UNMEASURED and created >= self.t0_ns
                if recent and (first == UNSET or created < first):
                    first = created
                if self.info.get("lane_kind") == events.LANE_PROC:
                    # A worker process runs its tasks on its main thread: its lane shows from
                    # the moment it is up, its start-up before it.
                    self.lane_for(pid, pid, events.LANE_PROC)
                    progress = True
            elif event[0] == events.WORKER_DOWN:
                _, pid, t, code = event
                for lane in self.lanes:
                    if lane.pid == pid:
                        lane.down_ns = t
                        lane.exitcode = code
            elif event[0] == events.TASK_LOST:
                _, task, pid, tid, t0, t1 = event
                self._ensure(task)
                lane = self.lane_for(pid, tid)
                self.lost.append((task, lane.id, t0, t1))
                if running.get(lane.id) == task:
                    del running[lane.id]
                if lanes_of[task] == lane.id and end[task] == UNSET:  # not yet running again
                    start[task] = UNSET
                    lanes_of[task] = UNSET
                    if statuses[task] == events.RUNNING:
                        self._set_status(task, events.PENDING)
                progress = True
            elif event[0] == events.RUN_STARTED:
                # The inputs move into a column; the info keeps everything else.
                info = event[2]
                self.info = visible_data({k: v for k, v in info.items() if k != "inputs"})
                outside = self.info.get("outside_cores")  # a recording says what it measured
                if isinstance(outside, (int, float)):
                    self.outside_cores = float(outside)
                self.resize(int(self.info.get("tasks", 0)))
                inputs = info.get("inputs", ())
                self.inputs.fill([text if text.isprintable() else visible(text) for text in inputs])
            elif event[0] == events.RUN_FINISHED:
                _, _, self.begin_ns, self.end_ns, detail = event
                self.detail = visible_data(detail)
                self.finished = True
            elif event[0] == events.RUN_FAILED:
                self.failure = visible(event[2])
                self.finished = True
        self.first_ns, self.last_ns = first, last
        return progress

    def _ended(
        self,
        t: int,
        marks: tuple[tuple[int, int], ...],
        rest: int | None,
        culprit: tuple[int, int | None] | None,
        outside: float | None,
    ) -> None:
        """How the parent ended the run (see ``events.run_ended``)."""
        for task, status in marks:
            self._ensure(task)
            self._set_status(task, status)
        if rest is not None:
            self.mark(self.with_status(events.PENDING, events.RUNNING), rest)
        if marks or rest is not None:
            self.stopped_ns = t
        if culprit is not None:
            pid, code = culprit
            for lane in self.lanes:
                if lane.pid == pid and lane.exitcode is None:
                    lane.exitcode = code
        if outside is not None:
            self.outside_cores = outside
        self.finished = True

    def _ran_again(self, task: int) -> None:
        """A finished task ends again: its worker died before its result was taken, and dask
        ran it once more. The first run is kept as an attempt lost with that worker."""
        old = self.lanes[self.lane[task]]
        self.index[old.id].remove(task)
        self.lost.append((task, old.id, self.start[task], self.end[task]))
        old.tasks -= 1
        old.busy_ns -= self.end[task] - self.start[task]
        old.cpu_ns -= max(self.cpu[task], 0)

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
            wait_ns=self.wait[task],
            in_bytes=self.in_bytes[task],
            out_bytes=self.out_bytes[task],
        )

    def startup_ns(self, pid: int) -> tuple[int, int] | None:
        """Worker ``pid``'s start-up: (created, ready), or None where not known. A worker is a
        process, or a sub-interpreter's thread (its native id: one id space with pids)."""
        created, ready = self.workers.get(pid, (UNSET, UNSET))
        if created == UNSET or ready == UNSET or ready < created:
            return None
        return created, ready

    def lane_startup_ns(self, lane: WorkerIds) -> tuple[int, int] | None:
        """The start-up of the worker a lane belongs to (created, ready), where known."""
        key = startup_key(lane)
        return self.startup_ns(key) if key else None

    def left_behind(self) -> list[tuple[int | None, int, str]]:
        """Processes the run's tasks left running, all ended with the run: (task, pid, what).

        The run's end lists what was still running; the task is known where its worker saw the
        process appear as its own child (a daemon that forked twice is known only to the end).
        Without that list (a run stopped early), what the workers saw is all there is.
        """
        by_pid = {
            pid: (task, what) for task, children in self.left.items() for pid, what in children
        }
        swept = self.detail.get("left_behind")
        if not isinstance(swept, list):
            return sorted(
                ((task, pid, what) for pid, (task, what) in by_pid.items()),
                key=lambda item: (item[0] if item[0] is not None else -1, item[1]),
            )
        found: list[tuple[int | None, int, str]] = []
        for item in swept:
            if isinstance(item, dict) and isinstance(item.get("pid"), int):
                pid = item["pid"]
                task = by_pid.get(pid, (None, ""))[0]
                found.append((task, pid, str(item.get("what", "?"))))
        return found

    def with_status(self, *statuses: int) -> list[int]:
        """Task ids whose status is one of ``statuses``."""
        wanted = set(statuses)
        return [task for task in range(self.count) if self.status[task] in wanted]

    def mark(self, tasks: Iterable[int], status: int, at_ns: int | None = None) -> None:
        """Set the status of tasks that ended without their own word (stalled, cancelled)."""
        for task in tasks:
            self._set_status(task, status)
        if at_ns is not None:
            self.stopped_ns = at_ns

    def span_ns(self) -> tuple[int, int]:
        """The run's measured interval: executor created to shut down (or what was seen).

        A run stopped early (stalled, cancelled, crashed) lasted until it was stopped: its
        stuck tasks were running all that time, after the last event arrived.
        """
        if self.begin_ns != UNSET and self.end_ns != UNSET:
            return self.begin_ns, self.end_ns
        if self.first_ns == UNSET:
            return 0, 0
        begin = self.begin_ns if self.begin_ns != UNSET else self.first_ns
        return begin, max(self.last_ns, self.stopped_ns)

    def stats(self) -> RunStats:
        """Wall time, busy and CPU time, parallelism, per-lane shares and task counts."""
        begin, end = self.span_ns()
        wall = max(end - begin, 0) / 1e9
        busy = sum(lane.busy_ns for lane in self.lanes) / 1e9
        cpu = sum(lane.cpu_ns for lane in self.lanes) / 1e9
        counts = self.counts
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
