"""Provides CPU samplers: per-core load and per-lane load, read without blocking."""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import psutil

from workloads import events, pyinfo
from workloads.trace import Lane


@dataclass
class CpuSample:
    """One reading: percent per core and per lane (lane id -> percent of one core)."""

    cores: list[float]
    lanes: dict[int, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.cores) / len(self.cores) if self.cores else 0.0


class Sampler(Protocol):
    def sample(self, lanes: Iterable[Lane], supervisor_pid: int | None) -> CpuSample | None: ...


class PsutilSampler:
    """Real readings from psutil; the first call only primes the counters and returns None.

    Per-lane load is CPU time over the last ``window`` seconds: the kernel counts CPU time in
    10 ms ticks, so a 0.1 s reading of one thread would jump between 0, 10 and 20 %.
    """

    def __init__(self, window: float = 0.5) -> None:
        self._primed = False
        self._window = window
        self._procs: dict[int, psutil.Process] = {}
        self._history: dict[tuple[str, int], deque[tuple[float, float]]] = {}

    def sample(self, lanes: Iterable[Lane], supervisor_pid: int | None) -> CpuSample | None:
        cores = psutil.cpu_percent(interval=None, percpu=True)
        if not self._primed:
            self._primed = True
            return None
        return CpuSample(cores=list(cores), lanes=self._lane_load(list(lanes), supervisor_pid))

    def _rate(self, key: tuple[str, int], spent: float, now: float) -> float | None:
        history = self._history.setdefault(key, deque())
        history.append((now, spent))
        while len(history) > 2 and now - history[1][0] >= self._window:
            history.popleft()
        first_time, first_spent = history[0]
        if now - first_time <= 0:
            return None
        return max(0.0, (spent - first_spent) / (now - first_time) * 100)

    def _lane_load(self, lanes: list[Lane], supervisor_pid: int | None) -> dict[int, float]:
        load: dict[int, float] = {}
        now = time.monotonic()
        for lane in lanes:
            if lane.kind not in events.PROCESS_LANES or lane.down_ns >= 0:
                continue
            if lane.kind == events.LANE_DASK and not pyinfo.on_this_machine(lane.start_method):
                continue  # a worker on another machine: its pid means nothing here
            try:
                proc = self._procs.get(lane.pid)
                if proc is None:
                    proc = self._procs[lane.pid] = psutil.Process(lane.pid)
                times = proc.cpu_times()
            except psutil.Error:
                self._procs.pop(lane.pid, None)
                continue
            rate = self._rate(("pid", lane.pid), times.user + times.system, now)
            if rate is not None:
                load[lane.id] = rate
        thread_lanes = [lane for lane in lanes if lane.kind not in events.PROCESS_LANES]
        if thread_lanes and supervisor_pid:
            with contextlib.suppress(psutil.Error):
                threads = psutil.Process(supervisor_pid).threads()
                spent_by_tid = {t.id: t.user_time + t.system_time for t in threads}
                for lane in thread_lanes:
                    spent = spent_by_tid.get(lane.tid)
                    if spent is None:
                        continue
                    rate = self._rate(("tid", lane.tid), spent, now)
                    if rate is not None:
                        load[lane.id] = rate
        # Forget workers of earlier runs: a long session must not grow.
        current = {("pid", lane.pid) for lane in lanes} | {("tid", lane.tid) for lane in lanes}
        for key in [k for k in self._history if k not in current]:
            del self._history[key]
        for pid in [p for p in self._procs if ("pid", p) not in current]:
            del self._procs[pid]
        return load


class FixedSampler:
    """Fixed readings, for screenshots and tests."""

    def __init__(self, cores: list[float], lanes: dict[int, float] | None = None) -> None:
        self._sample = CpuSample(cores=list(cores), lanes=dict(lanes or {}))

    def sample(self, lanes: Iterable[Lane], supervisor_pid: int | None) -> CpuSample | None:
        return self._sample
