"""Provides the dashboard's process lifecycle: signals, the terminal check and a sure exit.

An SSH drop (SIGHUP), a kill (SIGTERM) or a terminal that vanished all end the run's
processes first, then the app; if the app cannot finish restoring a terminal that is gone, a
timer ends the process anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import sys
import termios
import threading
from collections.abc import Callable
from typing import Any

from textual.app import App

TERMINAL_CHECK_S = 1.0
HARD_EXIT_S = 1.0  # restoring a terminal takes milliseconds: a second is plenty


def input_gone(web: bool) -> bool:
    """Whether the terminal (or, served to a browser, the server's pipe) has gone away.

    A served dashboard reads a pipe, never a terminal: asking the pipe for terminal
    attributes would end every browser session a second after it began. There, the pipe's
    writer hanging up is what says the session is over.
    """
    try:
        stdin = sys.__stdin__
        if stdin is None:
            return True
        fd = stdin.fileno()
        if web:
            poller = select.poll()
            poller.register(fd, select.POLLHUP)
            return any(
                mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL)
                for _, mask in poller.poll(0)
            )
        termios.tcgetattr(fd)
    except (OSError, termios.error, AttributeError, ValueError):
        return True
    return False


def watch(app: App[Any], end: Callable[[int], None]) -> None:
    """Call ``end(exit code)`` on SIGTERM, SIGHUP or, once a second, a vanished terminal."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, end, 128 + sig)
    if not app.is_headless:

        def check() -> None:
            if input_gone(web=app.is_web):
                end(1)

        app.set_interval(TERMINAL_CHECK_S, check)


def exit_surely(app: App[Any], code: int) -> None:
    """Exit with ``code``; if a clean exit stalls (a terminal that is gone, a stuck thread
    keeping the interpreter alive), the process ends ``HARD_EXIT_S`` later regardless."""
    timer = threading.Timer(HARD_EXIT_S, os._exit, args=(code,))
    timer.daemon = True
    timer.start()
    app.exit(return_code=code)
