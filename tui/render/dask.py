"""Provides what a dask run's text says of its cluster: where, how events came, what was lost."""

from __future__ import annotations

from typing import Any

from workloads.trace import UNSET


def dask_facts(trace: Any) -> dict[str, Any] | None:
    """A dask run's cluster, event paths, clock offsets and lost attempts (None: not dask)."""
    info = trace.info.get("dask")
    if not isinstance(info, dict):
        return None
    facts = dict(info)
    detail = trace.detail.get("dask")
    if isinstance(detail, dict):
        facts.update(detail)
    # A recording is somebody's file: what is not of the expected shape is left out.
    paths = facts.get("workers")
    facts["workers"] = {str(k): str(v) for k, v in paths.items()} if isinstance(paths, dict) else {}
    offsets = facts.get("offsets")
    facts["offsets"] = {
        str(host): [pair[0], pair[1]]
        for host, pair in (offsets.items() if isinstance(offsets, dict) else ())
        if isinstance(pair, list | tuple)
        and len(pair) == 2
        and all(isinstance(x, int | float) for x in pair)
    }
    gone = facts.get("lost_workers")
    facts["lost_workers"] = [str(w) for w in gone] if isinstance(gone, list) else []
    origin = trace.begin_ns if trace.begin_ns != UNSET else trace.first_ns
    facts["lost_attempts"] = [
        {
            "task": task,
            "lane": trace.lanes[lane].label,
            "start_s": round((t0 - origin) / 1e9, 6),
            "end_s": round((t1 - origin) / 1e9, 6),
        }
        for task, lane, t0, t1 in trace.lost
    ]
    return facts


def dask_lines(trace: Any) -> list[str]:
    """What a dask run's cluster was and how its events came, in a few lines."""
    facts = dask_facts(trace)
    if facts is None:
        return []
    kind = "LocalCluster" if facts.get("cluster") == "local" else "cluster"
    paths = facts.get("workers") or {}
    ways = sorted(set(paths.values()))
    how = {"local": "concviz's socket", "remote": "dask's event channel (wall clock)"}
    told = " and ".join(how.get(w, w) for w in ways)
    workers = f"{len(paths)} worker{'s' if len(paths) != 1 else ''}"
    line = f"dask: {kind} {facts.get('scheduler')}"
    if paths:  # (a run stopped early never asked its workers)
        line += f" · {workers} · events by {told}"
    lines = [line]
    if "remote" in ways:
        offsets = facts.get("offsets") or {}
        lines.append(
            "dask: clock offsets against this machine: "
            + ", ".join(
                f"{host} {ns / 1e6:+.3f} ms (±{error / 1e6:.3f})"
                for host, (ns, error) in sorted(offsets.items())
            )
        )
    if facts.get("dashboard"):
        lines.append(f"dask dashboard: {facts['dashboard']}")
    lost = facts["lost_attempts"]
    gone = facts.get("lost_workers") or []
    if lost or gone:
        tries: dict[int, int] = {}
        for attempt in lost:
            tries[attempt["task"]] = tries.get(attempt["task"], 0) + 1
        which = ", ".join(
            f"task {task}" + (f" ×{n}" if n > 1 else "") for task, n in list(tries.items())[:8]
        )
        again = "" if trace.detail.get("gave_up") else "; dask ran each again elsewhere"
        lines.append(
            f"dask: {len(gone)} worker{'s' if len(gone) != 1 else ''} lost"
            + (f", with attempts at {which}{again}" if which else "")
        )
    if facts.get("events_missing"):
        lines.append(f"dask: {facts['events_missing']} event(s) sent by workers never arrived")
    return lines
