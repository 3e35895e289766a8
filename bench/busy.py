"""Busy work for the benchmarks: a task that spins on the CPU for a set time."""

from __future__ import annotations

import time


def busy_ms(ms: float) -> float:
    """Spin for ``ms`` milliseconds of wall time without sleeping."""
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        pass
    return ms
