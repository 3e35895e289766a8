"""Provides CPU samplers: per-core load and per-lane load, read without blocking."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import psutil

from workloads import events
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
    """Real readings from psutil; the first call only primes the counters and returns None."""

    def __init__(self) -> None:
        self._primed = False
        self._procs: dict[int, psutil.Process] = {}
        self._threads: dict[int, tuple[float, float]] = {}  # tid -> (cpu seconds, when)

    def sample(self, lanes: Iterable[Lane], supervisor_pid: int | None) -> CpuSample | None:
        cores = psutil.cpu_percent(interval=None, percpu=True)
        if not self._primed:
            self._primed = True
            return None
        return CpuSample(cores=list(cores), lanes=self._lane_load(list(lanes), supervisor_pid))

    def _lane_load(self, lanes: list[Lane], supervisor_pid: int | None) -> dict[int, float]:
        load: dict[int, float] = {}
        thread_lanes = [lane for lane in lanes if lane.kind != events.LANE_PROC]
        for lane in lanes:
            if lane.kind != events.LANE_PROC or lane.down_ns >= 0:
                continue
            proc = self._procs.get(lane.pid)
            try:
                if proc is None:
                    proc = self._procs[lane.pid] = psutil.Process(lane.pid)
                    proc.cpu_percent(None)  # primes this process's counter
                    continue
                load[lane.id] = proc.cpu_percent(None)
            except psutil.Error:
                self._procs.pop(lane.pid, None)
        if thread_lanes and supervisor_pid:
            now = time.monotonic()
            with contextlib.suppress(psutil.Error):
                threads = {
                    t.id: t.user_time + t.system_time
                    for t in psutil.Process(supervisor_pid).threads()
                }
                for lane in thread_lanes:
                    spent = threads.get(lane.tid)
                    if spent is None:
                        continue
                    before = self._threads.get(lane.tid)
                    self._threads[lane.tid] = (spent, now)
                    if before is not None and now > before[1]:
                        load[lane.id] = max(0.0, (spent - before[0]) / (now - before[1]) * 100)
        return load


class FixedSampler:
    """Fixed readings, for screenshots and tests."""

    def __init__(self, cores: list[float], lanes: dict[int, float] | None = None) -> None:
        self._sample = CpuSample(cores=list(cores), lanes=dict(lanes or {}))

    def sample(self, lanes: Iterable[Lane], supervisor_pid: int | None) -> CpuSample | None:
        return self._sample
