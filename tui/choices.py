"""Provides Choices: what the user has picked in the dashboard, turned into a RunSpec on demand."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from workloads import pyinfo
from workloads.catalog import TARGET, TARGET_NOTE, WORKLOADS, Param
from workloads.spec import MODES, PROCESS_BACKENDS, RunSpec, SpecError, build_spec


@dataclass(frozen=True)
class Choices:
    """The dashboard's selections; ``None`` means "the default" for the optional ones."""

    workload: str = "sum-squares"
    backend: str = "process-pool"
    start_method: str | None = None
    mode: str = "map"
    workers: int = field(default_factory=pyinfo.usable_cpus)
    workers_given: bool = False  # set by the user (asyncio then limits its coroutines to it)
    chunksize: int | None = None
    tasks: int | None = None
    params: tuple[tuple[str, Any], ...] = ()
    stall_timeout: float = 5.0
    rounds: int = 1  # the tasks this many times in a row, the executor made again each round
    scheduler: str | None = None  # dask: a running cluster's scheduler
    dask_dashboard: bool = False
    dask_events: str = "auto"
    target: str | None = None
    inputs: str | None = None

    # -- reading ----------------------------------------------------------------------------

    def effective_start_method(self) -> str:
        return self.start_method or pyinfo.default_start_method()

    def start_method_label(self) -> str:
        if self.backend == "loky":  # its workers are started its own way
            return "loky"
        if self.backend == "dask":  # how its workers came to be: a cluster's
            return self.scheduler.removeprefix("tcp://") if self.scheduler else "LocalCluster"
        if self.backend not in PROCESS_BACKENDS:
            return "—"
        method = self.effective_start_method()
        return f"{method} (default)" if method == pyinfo.default_start_method() else method

    @property
    def on_target(self) -> bool:
        """The user's own function is the chosen workload."""
        return self.workload == TARGET and self.target is not None

    def workload_params(self) -> tuple[Param, ...]:
        workload = WORKLOADS.get(self.workload)
        return workload.params if workload else ()

    def describe_workload(self) -> tuple[str, tuple[str, str]]:
        """The chosen workload's one-line summary and its two-line note."""
        if self.on_target:
            inputs = self.inputs or "[]"
            if inputs.startswith("@"):  # a file: read only when a run starts, never per redraw
                return f"your function {self.target}, on the inputs in {inputs[1:]}", TARGET_NOTE
            try:
                count = len(json.loads(inputs))
            except (ValueError, RecursionError):  # refused with its reason when it runs
                count = 0
            return (
                f"your function {self.target}, on {count} input{'s' if count != 1 else ''}",
                TARGET_NOTE,
            )
        workload = WORKLOADS.get(self.workload)
        if workload is None:
            return "", ("", "")
        return workload.summary, workload.note

    def param(self, name: str) -> Any:
        given = dict(self.params)
        if name in given:
            return given[name]
        for param in self.workload_params():
            if param.name == name:
                return param.default
        return None

    def to_spec(self) -> RunSpec:
        """The validated run; raises SpecError with a one-line reason."""
        return build_spec(
            workload=None if self.on_target else self.workload,
            backend=self.backend,
            start_method=self.start_method,
            mode=self.mode,
            workers=self.workers if self.workers_given else None,
            chunksize=self.chunksize,
            tasks=self.tasks,
            params=dict(self.params),
            target=self.target if self.on_target else None,
            inputs=self.inputs if self.on_target else None,
            stall_timeout=self.stall_timeout,
            rounds=self.rounds,
            scheduler=self.scheduler,
            dask_dashboard=self.dask_dashboard,
            dask_events=self.dask_events,
        )

    # -- changing ---------------------------------------------------------------------------

    def with_workload(self, name: str) -> Choices:
        # The user's function stays on offer (in the list) when another workload is picked.
        return replace(self, workload=name, params=(), tasks=None)

    def with_backend(self, backend: str) -> Choices:
        return replace(self, backend=backend)

    def with_workers(self, delta: int) -> Choices:
        return replace(self, workers=max(1, min(256, self.workers + delta)), workers_given=True)

    def workers_label(self) -> str | int:
        """The pool size; asyncio has none unless the user set one."""
        if self.backend == "asyncio" and not self.workers_given:
            return "no limit"
        return self.workers

    def cycle_start_method(self) -> Choices:
        methods = pyinfo.available_start_methods()
        current = self.effective_start_method()
        following = (
            methods[(methods.index(current) + 1) % len(methods)]
            if current in methods
            else methods[0]
        )
        return replace(self, start_method=following)

    def cycle_mode(self) -> Choices:
        return replace(self, mode=MODES[(MODES.index(self.mode) + 1) % len(MODES)])

    def with_text(self, name: str, text: str) -> Choices:
        """A field typed by the user; raises SpecError naming the value when it is refused."""
        text = text.strip()
        if name in ("workers", "chunksize", "tasks"):
            if text.lower() in ("", "default", "auto", "no limit"):
                if name == "workers":
                    return replace(self, workers=pyinfo.usable_cpus(), workers_given=False)
                unset: dict[str, Any] = {name: None}
                return replace(self, **unset)
            try:
                value = int(text.replace("_", "").replace(",", ""))
            except ValueError:
                raise SpecError(f"{name}: {text!r} is not a whole number") from None
            number: dict[str, Any] = {name: value}
            if name == "workers":
                number["workers_given"] = True
            changed = replace(self, **number)
            changed.to_spec()
            return changed
        param = next((p for p in self.workload_params() if p.name == name), None)
        if param is None:
            raise SpecError(f"{self.workload} takes no {name!r}")
        parsed: Any
        try:
            if param.multiple:
                parsed = [part.strip() for part in text.split(",") if part.strip()]
            else:
                parsed = param.kind(text.replace("_", ""))
        except ValueError:
            raise SpecError(f"{name}: {text!r} is not a {param.kind.__name__}") from None
        given = dict(self.params)
        given[name] = parsed
        changed = replace(self, params=tuple(sorted(given.items())))
        changed.to_spec()
        return changed

    def baseline_key(self) -> tuple[Any, ...]:
        """Runs with the same key do the same work, so their wall times compare."""
        if self.on_target:
            return (TARGET, self.tasks, self.target, self.inputs)
        return (self.workload, self.tasks, self.params)
