"""Provides the tutorial's task functions, top-level so that every start method can pickle them.

Spawned workers re-import this module, so it imports nothing heavy.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
import urllib.request

# The tutorial's list for concurrent.futures.ProcessPoolExecutor.
PRIMES = [
    112272535095293,
    112582705942171,
    112272535095293,
    115280095190773,
    115797848077099,
    1099726899285419,
]


def cpu_bound(number: int) -> int:
    """Sum of squares below ``number``: pure Python arithmetic that holds the GIL throughout."""
    return sum(i * i for i in range(number))


def is_prime(n: int) -> bool:
    """Trial division, as in the tutorial's ProcessPoolExecutor example."""
    if n % 2 == 0:
        return False
    sqrt_n = int(math.floor(math.sqrt(n)))
    for i in range(3, sqrt_n + 1, 2):  # noqa: SIM110 - the tutorial's code, as written
        if n % i == 0:
            return False
    return True


def double(i: int) -> tuple[int, int]:
    """A tiny task that reports which process ran it."""
    return i * 2, os.getpid()


def return_after(job: tuple[int, float]) -> str:
    """Sleep, then answer: the tutorial's ``return_after_5_secs`` with a scaled delay."""
    num, seconds = job
    time.sleep(seconds)
    return f"Return of {num}"


def load_url(url: str, timeout: float = 60) -> bytes:
    """Retrieve a single page, as the tutorial's ThreadPoolExecutor example does."""
    with urllib.request.urlopen(url, timeout=timeout) as conn:
        data: bytes = conn.read()
        return data


def runs_in_subprocess(i: int) -> str:
    """Log one line: in a forked child this waits on a lock that a parent thread held at fork."""
    logging.error("hello, I did something (task %d)", i)
    return "logged"


def crash(job: tuple[int, int, str]) -> int:
    """Task ``crash_at`` fails the way asked; the others return their number.

    raise: an exception (an error span; the run goes on) · exit: os._exit(1) · kill: SIGKILL
    itself · segfault: a real invalid memory read. The last three take the worker down.
    """
    task, crash_at, how = job
    time.sleep(0.05)
    if task != crash_at:
        return task
    if how == "raise":
        raise RuntimeError(f"task {task} failed on purpose")
    if how == "exit":
        os._exit(1)
    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if how == "segfault":
        import ctypes

        ctypes.string_at(0)  # reads address 0: SIGSEGV
    raise ValueError(f"unknown crash kind {how!r}")


def hang(job: tuple[int, int]) -> int:
    """Task ``hang_at`` waits forever on a lock nobody releases; the others return."""
    task, hang_at = job
    time.sleep(0.05)
    if task == hang_at:
        lock = threading.Lock()
        lock.acquire()
        lock.acquire()  # blocks for good: a deadlock in one line
    return task


def inherited_state(i: int) -> str:
    """What this worker inherited from the process that started it: threads and logging."""
    root = logging.getLogger()
    formats = [
        h.formatter._fmt  # noqa: SLF001 - the format string is what the tutorial prints
        for h in root.handlers
        if h.formatter is not None and h.formatter._fmt
    ]
    logging_state = f"format {formats[0]!r}" if formats else "logging unconfigured"
    return f"pid {os.getpid()} · {threading.active_count()} thread(s) · {logging_state}"
