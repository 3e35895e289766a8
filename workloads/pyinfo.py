"""Provides facts about this Python and machine: version, GIL, CPUs and start methods."""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import platform
import sys
import sysconfig
from typing import Any

START_METHODS = ("fork", "spawn", "forkserver")


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity), which can be fewer than exist."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_start_method() -> str:
    """This Python's default start method (the first listed, as documented).

    Not ``get_start_method()``: in a spawned process (the supervisor) that answers "spawn".
    """
    return multiprocessing.get_all_start_methods()[0]


def available_start_methods() -> list[str]:
    """The start methods this platform offers, in the order multiprocessing lists them."""
    return list(multiprocessing.get_all_start_methods())


def gil_enabled() -> bool:
    """Whether the GIL is on (free-threaded 3.13t builds can run without it)."""
    check = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


def free_threaded_build() -> bool:
    """Whether this Python was built without the GIL (3.13t, 3.14t): ``Py_GIL_DISABLED``.

    Such a build can still turn the GIL on at run time (an extension that needs it, or
    ``PYTHON_GIL=1``): then :func:`gil_enabled` is true as well.
    """
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def gil_text(facts: dict[str, Any]) -> str:
    """How this runtime treats the GIL, in a few words: ``GIL on``, ``GIL off``, or ``GIL on
    (re-enabled at run time on a free-threaded build)``."""
    if facts.get("gil_enabled") is False:
        return "GIL off"
    if facts.get("free_threaded_build"):
        return "GIL on (re-enabled at run time on a free-threaded build)"
    return "GIL on"


INTERPRETER_POOL_PYTHON = (3, 14)


def backend_unavailable(name: str) -> str | None:
    """Why backend ``name`` cannot run here (one line), or None."""
    if name == "loky":
        import importlib.util

        if importlib.util.find_spec("loky") is None:
            return "the loky backend needs the loky extra: pip install 'concviz[loky]'"
    if name == "dask":
        import importlib.util

        if importlib.util.find_spec("distributed") is None:
            return "the dask backend needs the dask extra: pip install 'concviz[dask]'"
    if name == "interpreter-pool":
        import concurrent.futures

        if not hasattr(concurrent.futures, "InterpreterPoolExecutor"):
            return (
                "interpreter-pool needs Python 3.14 or newer "
                f"(concurrent.futures.InterpreterPoolExecutor); this is {platform.python_version()}"
            )
    return None


def python_facts() -> dict[str, Any]:
    """The facts a reader needs to interpret a measurement made on this interpreter."""
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": sys.platform,
        "gil_enabled": gil_enabled(),
        "free_threaded_build": free_threaded_build(),
        "cpus": os.cpu_count() or 1,
        "usable_cpus": usable_cpus(),
        "default_start_method": default_start_method(),
        "start_methods": available_start_methods(),
    }


@functools.cache
def local_hosts() -> frozenset[str]:
    """The names and addresses this machine answers to."""
    import socket

    hosts = {"127.0.0.1", "localhost", "::1", socket.gethostname()}
    with contextlib.suppress(Exception):
        import psutil

        for addresses in psutil.net_if_addrs().values():
            hosts.update(a.address for a in addresses)
    return frozenset(hosts)


def on_this_machine(address: str | None) -> bool:
    """Whether a dask worker's address (``tcp://HOST:PORT``) is on this machine."""
    from urllib.parse import urlsplit

    host = urlsplit(address or "").hostname
    return host is not None and host in local_hosts()
