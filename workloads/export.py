"""Provides the Chrome Trace Event export that Perfetto and chrome://tracing open."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workloads import events
from workloads.trace import UNSET, Trace, WorkerIds


def chrome_trace(trace: Trace) -> dict[str, Any]:
    """``{"traceEvents": [...]}``: one complete ("X") event per task, names for every lane."""
    origin, _ = trace.span_ns()
    out: list[dict[str, Any]] = []
    # An event loop's lane of steps is drawn live only: a recording keeps the tasks.
    shown = [lane for lane in trace.lanes if lane.kind != events.LANE_LOOP]
    pids: dict[int, int] = {}
    tids: dict[int, int] = {}
    for lane in shown:
        if lane.pid not in pids:
            pids[lane.pid] = len(pids) + 1
            name = lane.label if lane.kind == events.LANE_PROC else f"pid {lane.pid}"
            out.append(_meta("process_name", pids[lane.pid], 0, name))
        tids[lane.id] = lane.id + 1
        out.append(_meta("thread_name", pids[lane.pid], tids[lane.id], lane.label))
    for task in range(trace.count):
        start, end = trace.start[task], trace.end[task]
        lane_id = trace.lane[task]
        if start == UNSET or lane_id == UNSET:
            continue
        lane = trace.lanes[lane_id]
        status = events.STATUS_NAMES[trace.status[task]]
        args: dict[str, Any] = {
            "task": task,
            "status": status,
            "input": trace.inputs[task],
            "result": trace.results[task],
            "cpu_us": round(trace.cpu[task] / 1000, 3) if trace.cpu[task] != UNSET else None,
            "os_pid": lane.pid,
            "os_tid": lane.tid,
        }
        if trace.recv[task] != UNSET:
            args["received_us"] = round((trace.recv[task] - origin) / 1000, 3)
        if trace.submit[task] != UNSET:
            args["submitted_us"] = round((trace.submit[task] - origin) / 1000, 3)
        if trace.wait[task] != UNSET:
            args["wait_us"] = round(trace.wait[task] / 1000, 3)  # runnable, not on a core
        if trace.in_bytes[task] != UNSET:
            args["input_bytes"] = trace.in_bytes[task]  # pickled
        if trace.out_bytes[task] != UNSET:
            args["result_bytes"] = trace.out_bytes[task]
        if task in trace.errors:
            args["error"] = trace.errors[task]
        # A stuck or cut-off task ran until the run was stopped.
        finish = end if end != UNSET else max(trace.stopped_ns, start)
        out.append(
            {
                "name": f"task {task}",
                "cat": status,
                "ph": "X",
                "ts": round((start - origin) / 1000, 3),
                "dur": round((finish - start) / 1000, 3),
                "pid": pids[lane.pid],
                "tid": tids[lane.id],
                "args": args,
            }
        )
    for lane in shown:
        for name, t, extra in (
            ("worker up", lane.up_ns, {}),
            ("worker down", lane.down_ns, {"exitcode": lane.exitcode}),
        ):
            if t != UNSET:
                out.append(
                    {
                        "name": name,
                        "ph": "i",
                        "s": "t",
                        "ts": round((t - origin) / 1000, 3),
                        "pid": pids[lane.pid],
                        "tid": tids[lane.id],
                        "args": {"os_pid": lane.pid, **extra},
                    }
                )
    for t, cores in trace.cpu_samples:
        for core, percent in enumerate(cores):
            out.append(
                {
                    "name": f"cpu {core}",
                    "ph": "C",
                    "ts": round((t - origin) / 1000, 3),
                    "pid": 0,
                    "args": {"percent": round(percent, 1)},
                }
            )
    begin, end = trace.span_ns()
    return {
        "traceEvents": out,
        "displayTimeUnit": "ms",
        "metadata": {
            "concviz": trace.info.get("spec", {}),
            "python": trace.info.get("python", {}),
            "format": "concviz-trace",
            "version": events.VERSION,
            "note": trace.info.get("note", []),
            "detail": trace.detail,
            "failure": trace.failure,
            "wall_us": round((end - begin) / 1000, 3),
            "outside_load_cores": trace.outside_cores,  # what other processes used meanwhile
            "lanes": [
                {
                    "label": lane.label,
                    "kind": lane.kind,
                    "os_pid": lane.pid,
                    "os_tid": lane.tid,
                    "pid": pids[lane.pid],
                    "tid": tids[lane.id],
                    "start_method": lane.start_method,
                    "exitcode": lane.exitcode,
                    **_startup(trace, lane, origin),
                }
                for lane in shown
            ],
            # Attempts lost with their worker (dask ran the task again): not spans, so that
            # other tools show each task once.
            "lost": [
                {
                    "task": task,
                    "os_pid": trace.lanes[lane].pid,
                    "os_tid": trace.lanes[lane].tid,
                    "start_us": round((t0 - origin) / 1000, 3),
                    "end_us": round((t1 - origin) / 1000, 3),
                }
                for task, lane, t0, t1 in trace.lost
            ],
            **({"dask": trace.info["dask"]} if "dask" in trace.info else {}),
        },
    }


def _startup(trace: Trace, lane: WorkerIds, origin: int) -> dict[str, Any]:
    """A worker process's start-up, ``{"created_us": …, "ready_us": …}``, where known."""
    known = trace.lane_startup_ns(lane)
    if known is None:
        return {}
    created, ready = known
    return {
        "created_us": round((created - origin) / 1000, 3),
        "ready_us": round((ready - origin) / 1000, 3),
    }


def _meta(name: str, pid: int, tid: int, label: str) -> dict[str, Any]:
    return {"name": name, "ph": "M", "pid": pid, "tid": tid, "args": {"name": label}}


def write_chrome_trace(trace: Trace, path: str | Path) -> Path:
    """Write the trace as JSON to ``path`` and return it."""
    target = Path(path)
    target.write_text(json.dumps(chrome_trace(trace), separators=(",", ":")))
    return target
