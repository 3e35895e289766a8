"""Provides the headless reports: rich summaries for people and JSON for scripts."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tui.render import breakdown as breakdown_bar
from tui.render import sweep as sweep_chart
from tui.render import timeline
from tui.render.dask import dask_facts, dask_lines
from tui.render.lanes import lane_line
from workloads import breakdown, catalog, pyinfo, session
from workloads import compare as comparing
from workloads.compare import CompareResult
from workloads.spec import BACKENDS, MODES, PROCESS_BACKENDS, RunSpec
from workloads.text import visible
from workloads.trace import left_text


def _console() -> Console:
    width = shutil.get_terminal_size((100, 24)).columns
    return Console(width=max(width, 60), highlight=False)


def _title(spec: RunSpec, detail: dict[str, Any]) -> str:
    parts = [spec.backend]
    if spec.start_method:
        parts.append(spec.start_method)
    if spec.backend != "sequential":
        parts.append(spec.mode)
    if spec.backend == "threads":
        parts.append("a thread per task")
    elif spec.backend == "processes":
        parts.append("a process per task")
    elif spec.backend != "sequential":
        workers = detail.get("workers", spec.workers)
        parts.append(f"{workers} worker{'s' if workers != 1 else ''}")
    if "chunksize" in detail and detail["chunksize"] is not None:
        parts.append(f"chunksize {detail['chunksize']}")
    if spec.rounds > 1:
        parts.append(f"{spec.rounds} rounds")
    name = spec.target.label if spec.target else spec.workload
    return visible(f"{name} on " + " · ".join(parts))  # a target's path is the user's text


def timeline_text(trace: Any, width: int) -> list[Text]:
    """The compact timeline: one line per lane and an axis."""
    lines, axis_line = timeline.rows(trace, width)
    out = [lane_line(label + " ", runs) for label, runs in lines]
    out.append(Text(axis_line, style="dim"))
    return out


def print_run(spec: RunSpec, outcome: session.Outcome, trace_path: str | None = None) -> None:
    """The summary of one run, its timeline and its lanes."""
    console = _console()
    trace = outcome.trace
    stats = trace.stats()
    console.print(Text(_title(spec, trace.detail), style="bold"))
    status_style = "green" if outcome.status == session.FINISHED and not stats.errors else "red"
    line = Text()
    line.append(outcome.status, style=f"bold {status_style}")
    line.append(f" · wall {stats.wall_s:.3f} s · {stats.ok}/{stats.tasks} ok")
    if stats.errors:
        line.append(f" · {stats.errors} raised", style="red")
    line.append(f" · parallelism {stats.parallelism:.2f}")
    line.append(f" · CPU parallelism {stats.cpu_parallelism:.2f}", style="bold")
    console.print(line)
    console.print(
        Text(
            "parallelism = busy time / wall time; CPU parallelism = task CPU time / wall time "
            "(the cores really used)",
            style="dim",
        )
    )
    figures = comparing.assess(
        trace, outcome.status, None, outcome.outside_cores, outcome.observer()
    )
    console.print(Text.assemble(("reading: ", "bold"), figures.reading))
    if figures.breakdown is not None and stats.wall_s > 0:
        print_breakdown(console, figures.breakdown)
    if figures.observer is not None:
        console.print(Text(figures.observer.text(), style="dim"))
    for said in dask_lines(trace):
        console.print(Text(said, style="dim"))
    if figures.loaded and figures.outside is not None:
        console.print(
            Text(
                f"other processes used {figures.outside:.1f} of {figures.usable} cores during"
                " this run: its numbers are lower than an idle machine gives",
                style="yellow",
            )
        )
    if outcome.message and outcome.status != session.FINISHED:
        console.print(Text(visible(outcome.message), style="bold red"))
    for stuck in outcome.stuck:
        console.print(
            Text(
                f"  stuck: task {stuck.task} on {stuck.label} for {stuck.running_s:.1f} s",
                style="yellow",
            )
        )
    if outcome.alive:
        shown = ", ".join(f"pid {p.pid} ({p.status})" for p in outcome.alive[:8])
        console.print(Text(f"  still alive when stopped: {shown}", style="yellow"))
    if outcome.pending:
        console.print(Text(f"  {outcome.pending} task(s) never started", style="yellow"))
    for said in left_behind_lines(trace):
        console.print(Text(visible(said), style="yellow"))
    for pid, stack in outcome.stacks.items():
        console.print(
            Text(f"\nwhere pid {pid} is stuck (its threads' Python stacks):", style="bold yellow")
        )
        console.print(
            Text(visible(stack, keep="\n"), style="yellow"), no_wrap=True, overflow="crop"
        )
    if trace.lanes:
        console.print()
        for text in timeline_text(trace, console.width):
            console.print(text, no_wrap=True, overflow="crop")
        console.print(Text(timeline.legend(lost=bool(trace.lost)), style="dim"))
        console.print()
        table = Table(box=None, pad_edge=False, header_style="bold")
        for column in ("lane", "tasks", "busy s", "busy share", "cpu s", "exit"):
            table.add_column(column, justify="left" if column == "lane" else "right")
        for lane in stats.lanes:
            table.add_row(
                lane.label,
                str(lane.tasks),
                f"{lane.busy_s:.3f}",
                f"{lane.busy_share:.0%}",
                f"{lane.cpu_s:.3f}",
                ""
                if lane.exitcode is None
                else session.exit_text(lane.exitcode).replace("exit code ", ""),
            )
        console.print(table)
    _print_received(console, spec, trace)
    errors = list(trace.errors.items())[:5]
    for task, error in errors:
        console.print(Text(f"task {task} raised {visible(error)}", style="red"))
    if len(trace.errors) > 5:
        console.print(Text(f"… and {len(trace.errors) - 5} more", style="red"))
    note = trace.info.get("note")
    if note:
        console.print()
        for line_text in note:
            console.print(Text(visible(str(line_text)), style="italic"))
    if trace_path:
        console.print(
            Text(
                f"trace written to {visible(trace_path)} (open it in https://ui.perfetto.dev)",
                style="dim",
            )
        )


def print_breakdown(console: Console, split: breakdown.Breakdown) -> None:
    """Where the workers' time went: the stacked bar, its legend and the largest loss."""
    workers = f"{split.workers} worker{'s' if split.workers != 1 else ''}"
    console.print(
        Text.assemble(
            ("where the time went", "bold"), (f" ({workers} × wall {split.wall_s:.3f} s)", "dim")
        )
    )
    console.print(breakdown_bar.bar(split, min(console.width, 80)))
    console.print(breakdown_bar.legend(split))
    console.print(Text(split.verdict(), style="bold"))


def left_behind_lines(trace: Any) -> list[str]:
    """One line per process a task left running (the run ended them all)."""
    return [f"{left_text(*left)}: ended with the run" for left in trace.left_behind()]


RECEIVED_SHOWN = 20  # result lines printed; --json has them all

_ORDER = {
    "map": "map hands results back in input order",
    "as-completed": "as-completed hands each result back as its task finishes",
    "wait": "wait hands every result back once all are done",
}


def _print_received(console: Console, spec: RunSpec, trace: Any) -> None:
    """The results in the order the caller received them: the map vs as-completed lesson."""
    order = list(trace.recv_order)
    if not order:
        return
    how = "one at a time, in input order" if spec.backend == "sequential" else _ORDER[spec.mode]
    console.print()
    console.print(Text.assemble(("results, in the order received", "bold"), (f" ({how})", "dim")))
    table = Table(box=None, pad_edge=False, show_header=False)
    for justify in ("right", "left", "left", "left"):
        table.add_column(justify=justify, no_wrap=True, overflow="ellipsis")
    for place, task in enumerate(order[:RECEIVED_SHOWN], start=1):
        view = trace.task(task)
        said = (
            Text(visible(view.error), style="red")
            if view.error
            else Text(f"→ {visible(view.result) if view.result is not None else '(done)'}")
        )
        pid = f"pid {view.lane.pid}" if view.lane is not None else ""
        table.add_row(Text(str(place), style="dim"), f"task {task}", said, Text(pid, style="dim"))
    console.print(table)
    if len(order) > RECEIVED_SHOWN:
        console.print(Text(f"… {len(order) - RECEIVED_SHOWN} more (--json has all)", style="dim"))


def run_json(spec: RunSpec, outcome: session.Outcome) -> dict[str, Any]:
    """The run as one JSON object."""
    trace = outcome.trace
    stats = trace.stats()
    figures = comparing.assess(
        trace, outcome.status, None, outcome.outside_cores, outcome.observer()
    )
    python = trace.info.get("python") or pyinfo.python_facts()
    return {
        "workload": spec.target.label if spec.target else spec.workload,
        "backend": spec.backend,
        "start_method": spec.start_method,
        "mode": spec.mode,
        "workers": trace.detail.get("workers", spec.workers),
        "chunksize": trace.detail.get("chunksize", spec.chunksize),
        "status": outcome.status,
        "message": outcome.message,
        "tasks": stats.tasks,
        "ok": stats.ok,
        "errors": stats.errors,
        "crashed": stats.crashed,
        "unfinished": stats.unfinished,
        "wall_s": round(stats.wall_s, 6),
        "busy_s": round(stats.busy_s, 6),
        "cpu_s": round(stats.cpu_s, 6),
        "parallelism": round(stats.parallelism, 4),
        "cpu_parallelism": round(stats.cpu_parallelism, 4),
        "outside_load_cores": None
        if outcome.outside_cores is None
        else round(outcome.outside_cores, 3),
        "reading": figures.reading,
        "breakdown": figures.breakdown.as_json() if figures.breakdown else None,
        "time_lost": figures.breakdown.verdict() if figures.breakdown else None,
        "observer": figures.observer.as_json() if figures.observer else None,
        "dask": dask_facts(trace),
        "lanes": [
            {
                "label": lane.label,
                "kind": lane.kind,
                "pid": lane.pid,
                "tid": lane.tid,
                "tasks": lane.tasks,
                "busy_s": round(lane.busy_s, 6),
                "cpu_s": round(lane.cpu_s, 6),
                "startup_s": breakdown.lane_startup_s(trace, lane),
                "exitcode": lane.exitcode,
            }
            for lane in stats.lanes
        ],
        "results": [
            {
                "task": task,
                "status": view.status,
                "input": view.input,
                "result": view.result,
                "error": view.error,
                "pid": view.lane.pid if view.lane else None,
                "tid": view.lane.tid if view.lane else None,
                **breakdown.task_phases(trace, task),
            }
            for task, view in ((t, trace.task(t)) for t in range(trace.count))
        ],
        "received_order": list(trace.recv_order),
        "left_behind": [
            {"task": task, "pid": pid, "what": what} for task, pid, what in trace.left_behind()
        ],
        "stuck": [vars(s) for s in outcome.stuck],
        "alive": [vars(p) for p in outcome.alive],
        "stacks": {str(pid): text for pid, text in outcome.stacks.items()},
        "params": dict(spec.params),
        "python": {
            "version": python["version"],
            "default_start_method": python["default_start_method"],
            "gil_enabled": python["gil_enabled"],
            "free_threaded_build": python.get("free_threaded_build", False),
            "gil": pyinfo.gil_text(python),
            "cpus": python["cpus"],
            "usable_cpus": python["usable_cpus"],
        },
    }


def compare_progress() -> Callable[[CompareResult], None]:
    """Prints one line per finished backend while compare runs."""
    console = Console(stderr=True, highlight=False)

    def show(result: CompareResult) -> None:
        console.print(
            Text(
                f"  {result.label:<13} {result.stats.wall_s:7.3f} s  {result.outcome.status}",
                style="dim",
            )
        )

    return show


def print_compare(spec: RunSpec, results: list[CompareResult]) -> None:
    """The race: wall time bar, speedup, efficiency and a reading per backend."""
    console = _console()
    name = visible(spec.target.label if spec.target else spec.workload)
    console.print(
        Text(f"{name}: {spec.tasks} tasks · {pyinfo.usable_cpus()} usable cores", style="bold")
    )
    longest = max((r.stats.wall_s for r in results), default=0.0) or 1.0
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column, justify in (
        ("backend", "left"),
        ("start", "left"),
        ("chunks", "right"),
        ("wall s", "right"),
        ("", "left"),
        ("speedup", "right"),
        ("efficiency", "right"),
        ("CPU par.", "right"),
        ("status", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for r in results:
        table.add_row(
            r.label,
            r.start_method or "",
            r.figures.chunksize_text(),
            f"{r.stats.wall_s:.3f}",
            breakdown_bar.wall_bar(r, longest, 16),
            r.figures.speedup_text(),
            r.figures.efficiency_text(),
            f"{r.stats.cpu_parallelism:.2f}",
            r.figures.status_text(),
        )
    console.print(table)
    console.print()
    console.print(breakdown_bar.key())
    console.print()
    swept = sweep_chart.chart(results)
    for line in swept:
        console.print(line)
    if swept:
        console.print()
    for r in results:
        console.print(Text.assemble((f"{r.label}: ", "bold"), r.reading))
        if r.figures.breakdown is not None and r.backend != "sequential":
            console.print(Text(f"  {r.figures.breakdown.verdict()}", style="dim"))
    console.print()
    if any(r.figures.loaded for r in results):
        console.print(
            Text("* other processes used cores during that run: a busy machine", style="yellow")
        )
    advice = (
        comparing.recommend_sweep(results)
        if any(r.knob for r in results)
        else comparing.recommend(results)
    )
    console.print(Text.assemble(("→ ", "bold"), (advice, "bold")))
    console.print(
        Text(
            "Wall-clock speedups swing on shared machines; CPU parallelism (cores really used)"
            " does not. chunks: tasks per hand-over, as each library chose or was told.",
            style="dim",
        )
    )


def listing() -> dict[str, Any]:
    """What `concviz list --json` prints."""
    facts = pyinfo.python_facts()
    available = facts["start_methods"]
    return {
        "workloads": [
            {
                "name": w.name,
                "summary": w.summary,
                "note": list(w.note),
                "default_tasks": w.default_tasks,
                "params": {p.name: p.default for p in w.params},
            }
            for w in catalog.WORKLOADS.values()
        ],
        "backends": [
            {
                "name": name,
                "available": (bool(available) or name not in PROCESS_BACKENDS)
                and pyinfo.backend_unavailable(name) is None,
                "reason": pyinfo.backend_unavailable(name),
                "uses_processes": name in PROCESS_BACKENDS or name == "loky",
            }
            for name in BACKENDS
        ],
        "modes": list(MODES),
        "start_methods": [
            {"name": m, "available": m in available, "default": m == facts["default_start_method"]}
            for m in pyinfo.START_METHODS
        ],
        "default_start_method": facts["default_start_method"],
        "python": facts,
    }


def print_listing(as_json: bool = False) -> None:
    """Workloads, backends, start methods and Python facts."""
    data = listing()
    if as_json:
        print(json.dumps(data, indent=2))
        return
    console = _console()
    table = Table(
        title="workloads", box=None, header_style="bold", title_justify="left", pad_edge=False
    )
    table.add_column("name")
    table.add_column("what")
    table.add_column("tasks", justify="right")
    for w in catalog.WORKLOADS.values():
        table.add_row(
            w.name, f"{w.summary}\n[dim]{w.note[0]}\n{w.note[1]}[/]", str(w.default_tasks)
        )
    console.print(table)
    console.print()
    backends = Table(
        title="backends", box=None, header_style="bold", title_justify="left", pad_edge=False
    )
    backends.add_column("name")
    backends.add_column("available")
    for b in data["backends"]:
        backends.add_row(b["name"], "yes" if b["available"] else f"no: {b['reason']}")
    console.print(backends)
    console.print()
    methods = ", ".join(
        f"{m['name']}{' (default)' if m['default'] else ''}{'' if m['available'] else ' (not on this platform)'}"
        for m in data["start_methods"]
    )
    console.print(Text.assemble(("start methods: ", "bold"), methods))
    py = data["python"]
    console.print(
        Text.assemble(
            ("python: ", "bold"),
            f"{py['implementation']} {py['version']} · {pyinfo.gil_text(py)} · "
            f"{py['cpus']} CPUs, {py['usable_cpus']} usable",
        )
    )


def recorded_side(name: str, path: str) -> Any:
    """A recorded run as one side of a diff (raises TraceFileError with the reason)."""
    from tui.render.diff import Side
    from workloads.replay import load_recording
    from workloads.trace import Trace

    trace = Trace()
    trace.ingest(load_recording(path).events)
    status = session.FAILED if trace.failure else session.FINISHED
    return Side(name, trace, comparing.assess(trace, status, None, trace.outside_cores))


def print_diff(a: Any, b: Any) -> None:
    """``concviz diff``: both timelines on one scale, then the breakdowns and their changes."""
    from tui.render import diff

    console = _console()
    for line in diff.timelines(a, b, console.width):
        console.print(line, no_wrap=True, overflow="crop")
    console.print(Text(timeline.legend(), style="dim"))
    console.print()
    for line in diff.comparison(a, b, min(40, console.width // 3)):
        console.print(line)


def diff_json(a: Any, b: Any) -> dict[str, Any]:
    """The two runs and the change of each part of their breakdowns (``diff --json``)."""

    def side(s: Any) -> dict[str, Any]:
        f = s.figures
        return {
            "title": s.title,
            "backend": f.backend,
            "workers": f.workers,
            "chunksize": f.chunksize,
            "tasks": f.stats.tasks,
            "wall_s": round(f.stats.wall_s, 6),
            "cpu_parallelism": round(f.stats.cpu_parallelism, 4),
            "breakdown": f.breakdown.as_json() if f.breakdown else None,
            "time_lost": f.breakdown.verdict() if f.breakdown else None,
        }

    out: dict[str, Any] = {"a": side(a), "b": side(b)}
    wall_a, wall_b = a.figures.stats.wall_s, b.figures.stats.wall_s
    out["speedup_b_over_a"] = round(wall_a / wall_b, 4) if wall_a > 0 and wall_b > 0 else None
    if a.figures.breakdown and b.figures.breakdown:
        fa, fb = a.figures.breakdown.fractions(), b.figures.breakdown.fractions()
        out["breakdown_change"] = {
            part: None if fa[part] is None or fb[part] is None else round(fb[part] - fa[part], 4)
            for part in breakdown.PARTS
        }
    return out
