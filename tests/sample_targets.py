"""Functions that tests run as a user's --target."""

from __future__ import annotations

import os


def square_or_fail(x: int) -> int:
    """Squares its input; raises on 3 so a test sees one error span among successes."""
    if x == 3:
        raise ValueError("three is not welcome")
    return x * x


def where(x: int) -> tuple[int, int]:
    """Reports the process that ran it."""
    return x, os.getpid()


NOT_CALLABLE = 42


def lock_result(x: int) -> object:
    """Returns something that cannot be pickled (a lock) for one input."""
    import threading

    return threading.Lock() if x == 2 else x


# A lambda bound to a module name: concviz loads targets by name in every worker.
lambda_square = lambda x: x * x  # noqa: E731


# A user's own module of three functions: pure Python, a C routine that releases the GIL, a wait.
def py_loop(n: int) -> int:
    """Pure-Python arithmetic: holds the GIL all along."""
    total = 0
    for i in range(n):
        total += i * i
    return total


def digest(megabytes: int) -> str:
    """SHA-256 over a buffer: hashlib releases the GIL while it hashes large data."""
    import hashlib

    data = b"x" * (1 << 20)
    h = hashlib.sha256()
    for _ in range(megabytes):
        h.update(data)
    return h.hexdigest()[:12]


def nap(seconds: float) -> float:
    """Waits without computing."""
    import time

    time.sleep(seconds)
    return seconds


# Tasks that leave processes behind: a forked child, a subprocess, a daemon that left its
# parent (setsid, forked twice). The run must end them all and say which task left what.
def leave_fork(x: int) -> int:
    import time

    if os.fork() == 0:
        time.sleep(300)
        os._exit(0)
    return x


def leave_popen(x: int) -> int:
    import subprocess

    subprocess.Popen(["sleep", "301"])
    return x


def leave_daemon(x: int) -> int:
    import time

    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(302)
            os._exit(0)
        os._exit(0)
    return x


# Deaths with nothing to soften them: no sleep before, so a worker's last events are only
# what it recorded an instant before it went.
def kill_now(x: int) -> int:
    import signal

    if x == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


def exit_zero(x: int) -> int:
    if x == 1:
        os._exit(0)
    return x


def stop_self(x: int) -> int:
    import signal

    if x == 1:
        os.kill(os.getpid(), signal.SIGSTOP)
    return x


async def fetch_later(x: int) -> int:
    """A coroutine target: waits, then answers; x == 2 raises."""
    import asyncio

    await asyncio.sleep(0.01 * x)
    if x == 2:
        raise ValueError("two is refused")
    return x * 10
