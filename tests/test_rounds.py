"""--rounds: the same tasks again in one run, each round making its executor as a script would."""

from __future__ import annotations

import pytest

from workloads import session
from workloads.spec import SpecError, build_spec


def pids_by_round(trace: object, tasks: int) -> list[set[int]]:
    lanes, lane_of = trace.lanes, trace.lane  # type: ignore[attr-defined]
    return [{lanes[lane_of[t]].pid for t in range(r * tasks, (r + 1) * tasks)} for r in range(2)]


def test_lokys_reusable_executor_comes_back_warm_in_the_second_round(no_leftovers: None) -> None:
    pytest.importorskip("loky")
    spec = build_spec(backend="loky", workers=2, tasks=4, rounds=2, params={"size": 1_000_000})
    outcome = session.run(spec)
    assert outcome.status == session.FINISHED, outcome.message
    trace = outcome.trace
    assert trace.count == 8 and trace.stats().ok == 8
    # Two worker processes in all, both started before the second round began: none was made
    # for it (a slow one may have missed the first round's few tasks).
    second_began = min(trace.start[t] for t in range(4, 8))
    pids = {lane.pid for lane in trace.lanes}
    assert len(pids) == 2
    assert all(trace.workers[pid][0] < second_began for pid in pids)


def test_a_process_pool_starts_new_workers_every_round(no_leftovers: None) -> None:
    spec = build_spec(
        backend="process-pool", start_method="spawn", workers=2, tasks=4, rounds=2,
        params={"size": 200_000},
    )  # fmt: skip
    trace = session.run(spec).trace
    first, second = pids_by_round(trace, 4)
    assert first and second and not first & second  # `with ProcessPoolExecutor()` twice
    started = [trace.startup_ns(pid) for pid in first | second]
    assert all(known is not None for known in started)


@pytest.mark.parametrize("rounds", [0, 11])
def test_rounds_outside_1_to_10_are_refused(rounds: int) -> None:
    with pytest.raises(SpecError, match="--rounds must be between 1 and 10"):
        build_spec(rounds=rounds)
