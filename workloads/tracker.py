"""Provides the start and the end of multiprocessing's resource tracker, shared by every run.

Light on purpose: the command line starts the tracker before it loads the rest of concviz, so
the tracker's own start-up overlaps that loading instead of a run's.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from typing import Any


def start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker now, writing to /dev/null.

    Under a full-screen UI (Textual) ``sys.stderr`` has no file descriptor, and the tracker's
    start then fails with "bad value(s) in fds_to_keep". And when a stalled or crashed run's
    tree is killed, its pools' semaphores are left for the tracker to unlink, which it does
    with a "leaked semaphore" warning: expected here, and noise on the user's screen. The
    tracker inherits file descriptor 2, so that is what is pointed at /dev/null meanwhile;
    call this before a UI takes the terminal (the CLI does; a run starts it if needed).
    """
    from multiprocessing import resource_tracker

    tracker = resource_tracker._resource_tracker  # noqa: SLF001
    if getattr(tracker, "_fd", None) is not None:
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved_fd = os.dup(2)
    saved_stderr = sys.stderr
    # The tracker is in concviz's process group: a hang-up (an SSH drop, a closed tmux pane)
    # reaches it too and would kill it before it unlinks the run's semaphores. Ignored here,
    # SIGHUP stays ignored in it; it still ends when concviz does (end-of-file on its pipe).
    saved_hup = None
    with contextlib.suppress(ValueError, AttributeError):  # not the main thread; no SIGHUP
        saved_hup = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        os.dup2(devnull, 2)
        with open(os.devnull, "w") as sink:
            sys.stderr = sink
            resource_tracker.ensure_running()
    finally:
        if saved_hup is not None:
            signal.signal(signal.SIGHUP, saved_hup)
        sys.stderr = saved_stderr
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        os.close(devnull)


def shutdown() -> None:
    """Release what runs left in this process: call once before the interpreter exits.

    The spawn-context Queue needs multiprocessing's resource tracker, a child process that
    would otherwise outlive this one (and, where init does not reap, stay as a zombie).
    """
    from multiprocessing import resource_tracker, util

    with contextlib.suppress(Exception):
        util._exit_function()  # type: ignore[attr-defined]  # multiprocessing's own exit steps
    with contextlib.suppress(Exception):
        _stop_tracker(resource_tracker._resource_tracker)


def release() -> None:
    """Let the tracker go now, reaped later by :func:`shutdown`: it unlinks what it still
    tracks and exits while this process finishes its own work (a report to print). Only
    once no run will start any more in this process."""
    from multiprocessing import resource_tracker

    tracker: Any = resource_tracker._resource_tracker  # noqa: SLF001
    with tracker._lock:
        fd = getattr(tracker, "_fd", None)
        if fd is not None and getattr(tracker, "_pid", None) is not None:
            os.close(fd)
            tracker._fd = None


def _stop_tracker(tracker: Any, timeout: float = 2.0) -> None:
    """multiprocessing's ``_stop`` with a deadline: close our end of the tracker's pipe (it
    then unlinks what it still tracks and exits) and reap it. A process that kept a copy of
    that pipe would keep it alive, and ``_stop`` would wait forever: after ``timeout`` the
    tracker is killed instead."""
    with tracker._lock:
        fd, pid = getattr(tracker, "_fd", None), getattr(tracker, "_pid", None)
        if pid is None:
            return
        if fd is not None:  # else released already
            os.close(fd)
            tracker._fd = None
        deadline = time.monotonic() + timeout
        pause = 0.001  # it exits within milliseconds: look soon, then less often
        while True:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(pause)
            pause = min(pause * 2, 0.01)
        tracker._pid = None
