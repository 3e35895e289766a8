"""Provides process-tree care: adopting orphans, finding what a run left behind, ending it."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import time
from collections.abc import Iterable

import psutil

PR_SET_CHILD_SUBREAPER = 36

_subreaper_set = False


def become_subreaper() -> None:
    """Adopt orphaned descendants (Linux): a process a task started, even one that called
    ``setsid`` or whose parent exited, stays in this process's tree, to be found and ended."""
    global _subreaper_set
    if _subreaper_set or not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    _subreaper_set = True


def describe(proc: psutil.Process) -> str:
    """``sleep 301`` (the command line, short), or the process name."""
    with contextlib.suppress(psutil.Error):
        cmdline = " ".join(proc.cmdline())
        if cmdline:
            return cmdline if len(cmdline) <= 80 else cmdline[:79] + "…"
    with contextlib.suppress(psutil.Error):
        return proc.name()
    return "?"


def living_descendants(keep: Iterable[int] = ()) -> list[psutil.Process]:
    """This process's descendants that still run (zombies are not), except ``keep``."""
    kept = set(keep)
    found = []
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process().children(recursive=True):
            if child.pid in kept:
                continue
            with contextlib.suppress(psutil.Error):
                if child.status() != psutil.STATUS_ZOMBIE:
                    found.append(child)
    return found


def kill_and_reap(procs: list[psutil.Process], timeout: float = 2.0) -> None:
    """SIGKILL ``procs`` and wait for them: children of this process are reaped here, and
    deeper ones come to it as orphans (it is a subreaper) and are reaped as they arrive."""
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    reap({proc.pid for proc in procs}, timeout)


def reap(pids: set[int], timeout: float) -> None:
    """Wait for ``pids`` to be gone, reaping those that are (or become) this process's
    children; never multiprocessing's own, whose handles read their exit status."""
    deadline = time.monotonic() + timeout
    left = set(pids)
    while left and time.monotonic() < deadline:
        for pid in list(left):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                # Not (yet) ours: reaped by its own parent, or not yet re-parented to us.
                if not psutil.pid_exists(pid) or _gone_elsewhere(pid):
                    left.discard(pid)
                continue
            if done == pid:
                left.discard(pid)
        if left:
            time.sleep(0.01)


def _gone_elsewhere(pid: int) -> bool:
    """``pid`` runs on under another parent (it will not come here to be reaped), or is gone."""
    try:
        proc = psutil.Process(pid)
        return proc.ppid() != os.getpid() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


RUN_MARK = "CONCVIZ_RUN"  # set in a run's supervisor; every process under it inherits it


def end_all_below(keep: Iterable[int] = (), rounds: int = 5) -> list[tuple[int, str]]:
    """End every living descendant (but ``keep``), again and again until none is left: one
    may fork while the others are ended, and its child comes to this process as an orphan.
    Returns (pid, command) of each, for the record."""
    ended: list[tuple[int, str]] = []
    for _ in range(rounds):
        found = living_descendants(keep)
        if not found:
            break
        for proc in found:  # stopped first: a stopped process cannot fork any more
            with contextlib.suppress(psutil.Error):
                proc.suspend()
        ended.extend((proc.pid, describe(proc)) for proc in found)
        kill_and_reap(found)
    reap_adopted(keep)
    return ended


def reap_adopted(keep: Iterable[int] = ()) -> None:
    """Reap children that already exited (orphans adopted here, such as a daemon's first
    parent): left unreaped they would pass on, as zombies, to whoever adopts them next."""
    kept = set(keep)
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process().children():
            if child.pid in kept:
                continue
            with contextlib.suppress(psutil.Error, ChildProcessError):
                if child.status() == psutil.STATUS_ZOMBIE:
                    os.waitpid(child.pid, os.WNOHANG)


def end_adopted(mark: str) -> None:
    """End this process's children (orphans it adopted) that belong to the run ``mark``."""
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process().children():
            with contextlib.suppress(psutil.Error):
                if child.environ().get(RUN_MARK) == mark:
                    kill_and_reap([child], timeout=1.0)
