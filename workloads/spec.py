"""Provides RunSpec, the validated description of one run, and the checks that guard it."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import math
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from workloads import pyinfo
from workloads.catalog import TARGET, WORKLOADS, Workload, target_workload

BACKENDS = (
    "sequential",
    "threads",
    "thread-pool",
    "processes",
    "mp-pool",
    "process-pool",
    "asyncio",
    "loky",
    "interpreter-pool",
    "dask",
)
PROCESS_BACKENDS = ("processes", "mp-pool", "process-pool")
POOL_BACKENDS = ("thread-pool", "mp-pool", "process-pool")


def available_backends() -> list[str]:
    """The backends this Python and install can run, in their order."""
    return [b for b in BACKENDS if pyinfo.backend_unavailable(b) is None]


MODES = ("map", "as-completed", "wait")
MAX_WORKERS = 256
MAX_TASKS = 1_000_000
MAX_ROUNDS = 10
# Arrays and objects inside --inputs: deeper values break json, pickle and repr (each recurses),
# and no task needs them.
MAX_INPUT_DEPTH = 100
# An --inputs @FILE larger than this is refused before it fills the memory (/dev/zero, a typo).
MAX_INPUTS_BYTES = 64 * 1024 * 1024


class SpecError(ValueError):
    """A bad choice by the user, worded as one line that names the value and the choices."""


@dataclass(frozen=True)
class TargetRef:
    """The user's function, by module or file, loadable again in any worker."""

    location: str
    name: str
    is_file: bool
    cwd: str

    @property
    def label(self) -> str:
        """As the user wrote it: ``module:function`` or ``path.py:function``."""
        return f"{self.location}:{self.name}"

    def module_name(self) -> str:
        """The name the module is registered under, the same in every process."""
        if not self.is_file:
            return self.location
        digest = hashlib.sha1(self.location.encode()).hexdigest()[:10]
        return f"concviz_target_{Path(self.location).stem}_{digest}"

    def load(self) -> Callable[[Any], Any]:
        """Import the module and return the function; raises SpecError with the reason."""
        module = self._import()
        try:
            function = getattr(module, self.name)
        except AttributeError:
            raise SpecError(
                f"--target {self.label}: {self.location} has no {self.name!r}"
            ) from None
        if not callable(function):
            raise SpecError(f"--target {self.label}: {self.name!r} is not callable")
        return function  # type: ignore[no-any-return]

    def _import(self) -> ModuleType:
        if self.cwd not in sys.path:
            sys.path.insert(0, self.cwd)
        name = self.module_name()
        if name in sys.modules:
            return sys.modules[name]
        try:
            if not self.is_file:
                return importlib.import_module(name)
            spec = importlib.util.spec_from_file_location(name, self.location)
            if spec is None or spec.loader is None:
                raise SpecError(f"--target {self.label}: cannot load {self.location}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise
            return module
        except SpecError:
            raise
        except BaseException as exc:  # the user's module may raise anything while importing
            raise SpecError(
                f"--target {self.label}: cannot import {self.location}: "
                f"{type(exc).__name__}: {exc}".splitlines()[0]
            ) from None


@dataclass(frozen=True)
class RunSpec:
    """One run, fully decided: nothing in it is left to a default chosen later."""

    workload: str
    backend: str
    start_method: str | None
    mode: str
    workers: int
    chunksize: int | None
    tasks: int
    params: Mapping[str, Any] = field(default_factory=dict)
    target: TargetRef | None = None
    inputs: tuple[Any, ...] | None = None
    stall_timeout: float = 5.0
    # Whether ``workers`` was chosen rather than defaulted: asyncio limits its coroutines to
    # ``workers`` at once (a semaphore) only when asked; by default every task starts at once.
    workers_given: bool = True
    # dask: an existing cluster's scheduler (None: a LocalCluster of ``workers`` processes),
    # its web dashboard on, and every worker's events forced through dask's own channel.
    scheduler: str | None = None
    dask_dashboard: bool = False
    dask_remote: bool = False
    # The tasks this many times in a row, in one run: each round makes its executor again, as
    # a script that calls it twice does (loky's reusable one and a dask cluster come back warm).
    rounds: int = 1

    def with_backend(self, backend: str) -> RunSpec:
        """The same run on another backend (validated: start method, workers)."""
        start_method = self.start_method
        if backend in PROCESS_BACKENDS and start_method is None:
            start_method = pyinfo.default_start_method()
        if backend not in PROCESS_BACKENDS:
            start_method = None
        return replace(self, backend=backend, start_method=start_method)

    def resolve_workload(self) -> Workload:
        """The workload object; for ``--target`` this imports the user's module."""
        if self.target is not None:
            return target_workload(self.target.load(), self.target.label, list(self.inputs or ()))
        return WORKLOADS[self.workload]

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary of the choices, for traces and reports."""
        return {
            "workload": self.target.label if self.target else self.workload,
            "backend": self.backend,
            "start_method": self.start_method,
            "mode": self.mode,
            "workers": self.workers if self.workers_given or self.backend != "asyncio" else None,
            "chunksize": self.chunksize,
            "tasks": self.tasks,
            "params": dict(self.params),
            "stall_timeout": self.stall_timeout,
            **(
                {
                    "scheduler": self.scheduler,
                    "dask_events": "remote" if self.dask_remote else "auto",
                }
                if self.backend == "dask"
                else {}
            ),
        }


DASK_EVENTS = ("auto", "remote")


def scheduler_address(text: str) -> str:
    """A dask scheduler's address, ``tcp://HOST:PORT`` (``HOST:PORT`` is taken as tcp)."""
    from urllib.parse import urlsplit

    address = text.strip()
    if "://" not in address:
        address = "tcp://" + address
    parts = urlsplit(address)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("tcp", "tls") or not parts.hostname or port is None:
        raise SpecError(f"--scheduler {text!r}: expected tcp://HOST:PORT")
    return address


def scheduler_problem(address: str, timeout: float = 3.0) -> str | None:
    """Why the dask scheduler at ``address`` cannot be reached (a quick TCP connect), or None."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    try:
        with socket.create_connection((parts.hostname or "", parts.port or 0), timeout=timeout):
            return None
    except TimeoutError:
        reason = f"no answer within {timeout:g} s"
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    return f"--scheduler {address}: cannot reach a dask scheduler there ({reason})"


def _choice(what: str, value: str, choices: tuple[str, ...] | list[str]) -> str:
    if value not in choices:
        raise SpecError(f"unknown {what} {value!r} (choose from: {', '.join(choices)})")
    return value


def parse_target(text: str, cwd: str | None = None) -> TargetRef:
    """``module:function`` or ``path/to/file.py:function``; checked by loading it."""
    cwd = cwd or os.getcwd()
    location, sep, name = text.rpartition(":")
    if not sep or not location or not name or not name.isidentifier():
        raise SpecError(f"--target {text!r}: expected module:function or path/to/file.py:function")
    is_file = location.endswith(".py") or os.sep in location
    if is_file:
        path = Path(cwd, location).resolve()
        if not path.is_file():
            raise SpecError(f"--target {text}: no such file {location}")
        location = str(path)
    ref = TargetRef(location=location, name=name, is_file=is_file, cwd=cwd)
    ref.load()
    return ref


def _read_inputs_file(text: str, cwd: str | None) -> str:
    """The contents of ``@FILE`` (relative to ``cwd``); raises SpecError with the reason."""
    name = text[1:]
    if not name:
        raise SpecError("--inputs @: name the JSON file after the @, as in --inputs @inputs.json")
    path = Path(cwd or os.getcwd(), name)
    try:
        # Read one byte more than allowed: a file (or a pipe) that has it is too large.
        with path.open("rb") as handle:
            data = handle.read(MAX_INPUTS_BYTES + 1)
    except FileNotFoundError:
        raise SpecError(f"--inputs {text}: no such file") from None
    except IsADirectoryError:
        raise SpecError(f"--inputs {text}: is a folder, not a JSON file") from None
    except OSError as exc:
        raise SpecError(f"--inputs {text}: cannot read it: {exc.strerror or exc}") from None
    if len(data) > MAX_INPUTS_BYTES:
        raise SpecError(f"--inputs {text}: larger than {MAX_INPUTS_BYTES // 2**20} MiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpecError(f"--inputs {text}: not UTF-8 text") from None


def _nesting(value: Any) -> int:
    """How deeply arrays and objects nest in ``value`` (without recursing, whatever the depth)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, list):
            children: Any = item
        elif isinstance(item, dict):
            children = item.values()
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_INPUT_DEPTH:
            break  # the answer is "too deep" already
        stack.extend((child, level + 1) for child in children)
    return deepest


def parse_inputs(text: str, cwd: str | None = None) -> tuple[Any, ...]:
    """A JSON array, given as text or as ``@FILE``; each element is one task's argument."""
    source = "--inputs"
    if text.startswith("@"):  # JSON never starts with @: this names a file
        source = f"--inputs {text}"
        text = _read_inputs_file(text, cwd)
    too_deep = (
        f"{source} is nested too deeply: at most {MAX_INPUT_DEPTH} levels of arrays and objects"
    )
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}" if exc.lineno > 1 else f"column {exc.colno}"
        raise SpecError(f"{source} is not valid JSON ({exc.msg} at {where})") from None
    except RecursionError:
        raise SpecError(too_deep) from None
    except ValueError:  # the only other one: an integer longer than Python converts
        limit = getattr(sys, "get_int_max_str_digits", lambda: 4300)()
        raise SpecError(f"{source} holds a number with more than {limit} digits") from None
    if not isinstance(value, list):
        raise SpecError(f"{source} must be a JSON array, got {type(value).__name__}")
    if not value:
        raise SpecError(f"{source} is an empty array: give at least one input")
    if len(value) > MAX_TASKS:
        raise SpecError(
            f"{source} has {len(value):,} elements; a run takes at most {MAX_TASKS:,} tasks"
        )
    if _nesting(value) > MAX_INPUT_DEPTH:
        raise SpecError(too_deep)
    return tuple(value)


def build_spec(
    *,
    workload: str | None = None,
    backend: str = "process-pool",
    start_method: str | None = None,
    mode: str = "map",
    workers: int | None = None,
    chunksize: int | None = None,
    tasks: int | None = None,
    params: Mapping[str, Any] | None = None,
    target: str | None = None,
    inputs: str | None = None,
    stall_timeout: float = 5.0,
    cwd: str | None = None,
    scheduler: str | None = None,
    dask_dashboard: bool = False,
    dask_events: str = "auto",
    rounds: int = 1,
) -> RunSpec:
    """Validate the user's choices and fill in the defaults; raises SpecError."""
    backend = _choice("backend", backend, BACKENDS)
    missing = pyinfo.backend_unavailable(backend)
    if missing is not None:
        raise SpecError(missing)
    mode = _choice("mode", mode, MODES)
    if start_method is not None:
        _choice("start method", start_method, pyinfo.START_METHODS)
        available = pyinfo.available_start_methods()
        if start_method not in available:
            raise SpecError(
                f"start method {start_method!r} is not available on this platform "
                f"(choose from: {', '.join(available)})"
            )
    if backend in PROCESS_BACKENDS:
        start_method = start_method or pyinfo.default_start_method()
    else:
        start_method = None
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise SpecError(f"--workers must be between 1 and {MAX_WORKERS}, got {workers}")
    if chunksize is not None and chunksize <= 0:
        raise SpecError(f"--chunksize must be at least 1, got {chunksize}")
    if chunksize is not None and chunksize > MAX_TASKS:
        # A chunk holds at most every task; beyond sys.maxsize the pools' own slicing fails.
        raise SpecError(
            f"--chunksize must be at most {MAX_TASKS:,} (the most tasks a run has), got {chunksize}"
        )
    if tasks is not None and not 1 <= tasks <= MAX_TASKS:
        raise SpecError(f"--tasks must be between 1 and {MAX_TASKS:,}, got {tasks}")
    if not (math.isfinite(stall_timeout) and stall_timeout >= 0):  # nan compares false
        raise SpecError(
            f"--stall-timeout must be 0 (off) or a finite number of seconds, got {stall_timeout:g}"
        )
    _choice("--dask-events", dask_events, DASK_EVENTS)
    if scheduler is not None:
        scheduler = scheduler_address(scheduler)
    given = {k: v for k, v in (params or {}).items() if v is not None and v != []}

    target_ref: TargetRef | None = None
    input_values: tuple[Any, ...] | None = None
    if target is not None:
        if workload not in (None, TARGET):
            raise SpecError(f"--target replaces --workload; drop --workload {workload}")
        if given:
            flag = "--" + next(iter(given)).replace("_", "-")
            raise SpecError(f"{flag} does not apply to --target")
        target_ref = parse_target(target, cwd)
        if inputs is None:
            raise SpecError("--target needs --inputs, a JSON array such as '[1, 2, 3]'")
        input_values = parse_inputs(inputs, cwd)
        name = TARGET
        default_tasks = len(input_values)
        resolved: dict[str, Any] = {}
    else:
        if inputs is not None:
            raise SpecError("--inputs goes with --target module:function")
        name = _choice("workload", workload or "sum-squares", list(WORKLOADS))
        chosen = WORKLOADS[name]
        accepted = {p.name: p for p in chosen.params}
        resolved = chosen.defaults()
        for key, value in given.items():
            param = accepted.get(key)
            if param is None:
                takes = ", ".join(p.flag for p in accepted.values()) or "no parameters"
                flag = "--" + key.replace("_", "-")
                raise SpecError(f"{flag} does not apply to {name} (it takes: {takes})")
            problem = param.check(value)
            if problem:
                raise SpecError(problem)
            resolved[key] = value
        default_tasks = chosen.default_tasks
        if name == "download" and resolved.get("url") and tasks is None:
            default_tasks = len(resolved["url"])

    count = tasks if tasks is not None else default_tasks
    if not 1 <= rounds <= MAX_ROUNDS:
        raise SpecError(f"--rounds must be between 1 and {MAX_ROUNDS}, got {rounds}")
    if count * rounds > MAX_TASKS:
        raise SpecError(
            f"--rounds {rounds} of {count:,} tasks is {count * rounds:,}; a run takes at most "
            f"{MAX_TASKS:,} tasks"
        )
    workers_given = workers is not None
    if workers is None:
        workers = pyinfo.usable_cpus()
    return RunSpec(
        workload=name,
        backend=backend,
        start_method=start_method,
        mode=mode,
        workers=workers,
        chunksize=chunksize,
        tasks=count,
        params=resolved,
        target=target_ref,
        inputs=input_values,
        stall_timeout=stall_timeout,
        workers_given=workers_given,
        scheduler=scheduler,
        dask_dashboard=dask_dashboard,
        dask_remote=dask_events == "remote",
        rounds=rounds,
    )
