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
from typing import NamedTuple

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


async def return_after_async(job: tuple[int, float]) -> str:
    """``return_after`` as a coroutine: ``asyncio.sleep`` lets the loop run the others."""
    import asyncio

    num, seconds = job
    await asyncio.sleep(seconds)
    return f"Return of {num}"


async def load_url_async(url: str, timeout: float = 60) -> bytes:
    """``load_url`` with asyncio streams (plain HTTP/1.0 GET; https through the loop's TLS)."""
    import asyncio
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    async def fetch() -> bytes:
        reader, writer = await asyncio.open_connection(
            parts.hostname,
            port,
            ssl=secure or None,
            server_hostname=parts.hostname if secure else None,
        )
        try:
            request = f"GET {path} HTTP/1.0\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n"
            writer.write(request.encode("ascii"))
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0].decode("latin-1", "replace")
        code = status.split(" ", 2)[1] if status.count(" ") >= 1 else "?"
        if not code.startswith("2"):
            raise OSError(f"HTTP {status.partition(' ')[2] or status}: {url}")
        return body

    return await asyncio.wait_for(fetch(), timeout)


def load_url(url: str, timeout: float = 60) -> bytes:
    """Retrieve a single page, as the tutorial's ThreadPoolExecutor example does."""
    import urllib.request  # here: every run's processes import this module, few fetch pages

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


# fork-state's module-level value. The parent changes it before it starts its workers: a forked
# child copies the changed value, a spawned or forkserver child imports this module afresh and
# sees this default.
FLAG_DEFAULT = "default"
FLAG_FROM_PARENT = "from parent"
flag = FLAG_DEFAULT

# Threads from these modules drive workers, pools and queues (concviz's backends, multiprocessing,
# concurrent.futures): they belong to the machinery, not to the program whose threads we count.
_MACHINERY_MODULES = ("workloads.backends", "multiprocessing.", "concurrent.futures.")


def _is_machinery(thread: threading.Thread) -> bool:
    if thread.name.startswith("concviz-"):  # the probe's flusher, the orphan guard, the pump
        return True
    # A plain Thread keeps the function it runs; the pools' own classes say it by their module.
    target = getattr(thread, "_target", None)
    module = getattr(target, "__module__", None) or type(thread).__module__
    return str(module).startswith(_MACHINERY_MODULES)


def program_threads() -> int:
    """This process's threads as the tutorial counts them, without the machinery's helpers.

    The main thread always counts: in a forked child it is the copy of the thread that forked,
    even when that was a pool's own thread (``Pool`` forks replacements from its handler thread).
    """
    main = threading.main_thread()
    return sum(1 for t in threading.enumerate() if t is main or not _is_machinery(t))


def logging_state() -> str:
    """The root logger's format as the tutorial prints it (``logging GADZOOKS``), or none."""
    root = logging.getLogger()
    for handler in root.handlers:
        fmt = handler.formatter._fmt if handler.formatter else None  # noqa: SLF001 - what it prints
        if fmt:
            label = fmt.replace("%(message)s", "").strip() or fmt
            return f"logging {label[:12]}"
    return "logging configured" if root.handlers else "logging unconfigured"


def _threads(count: int) -> str:
    return f"{count} thread" if count == 1 else f"{count} threads"


class ParentState(NamedTuple):
    """What the parent had when it started the workers, measured there by fork-state's prepare
    step: each task compares its own process with it."""

    pid: int
    threads: int
    log: str
    flag: str

    def __repr__(self) -> str:
        # Shown as the task's input: short enough for probe.short_repr to keep whole.
        return f"parent: {_threads(self.threads)} · {self.log} · flag {self.flag}"


def parent_state() -> ParentState:
    """This process's threads, logging and flag, to hand to the workers it starts."""
    return ParentState(os.getpid(), program_threads(), logging_state(), flag)


def inherited_state(parent: ParentState) -> str:
    """What this worker has of its parent's state: threads, logging configuration, a global.

    A thread backend runs the task in the parent itself, which shares everything, and says so.
    """
    threads = _threads(program_threads())
    where = (
        f"in parent: {threads}"
        if os.getpid() == parent.pid
        else f"{threads} (parent {parent.threads})"
    )
    return f"{where} · {logging_state()} · flag {flag}"
