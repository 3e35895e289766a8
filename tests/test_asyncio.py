"""The asyncio backend: coroutines on one event loop, their overlap and their serialization."""

from __future__ import annotations

from workloads import events, session
from workloads.breakdown import breakdown
from workloads.compare import assess
from workloads.spec import build_spec


def run(**kwargs: object) -> session.Outcome:
    outcome = session.run(build_spec(backend="asyncio", **kwargs))  # type: ignore[arg-type]
    assert outcome.status == session.FINISHED, outcome.message
    return outcome


def test_sleeps_overlap_on_one_loop_in_far_less_than_their_sum(no_leftovers: None) -> None:
    outcome = run(workload="sleep", tasks=20, params={"scale": 0.05})
    trace = outcome.trace
    stats = trace.stats()
    inputs = (trace.inputs[t] or "" for t in range(trace.count))
    slept = sum(float(text.split(",")[1].rstrip(")")) for text in inputs)
    assert stats.wall_s < slept / 4, (stats.wall_s, slept)
    assert {lane.pid for lane in trace.lanes} == {trace.info["supervisor_pid"]}  # one process
    slots = [lane for lane in trace.lanes if lane.kind == events.LANE_CORO]
    assert {lane.kind for lane in trace.lanes} == {events.LANE_CORO, events.LANE_LOOP}
    assert len(slots) > 1 and stats.parallelism > 3  # tasks in progress together
    assert [trace.results[t] for t in range(20)] == [f"'Return of {t}'" for t in range(20)]
    split = breakdown(trace)
    assert split.largest_loss() == "blocked" and split.blocked_by == "I/O"


def test_cpu_bound_coroutines_hold_the_loop_one_after_another(no_leftovers: None) -> None:
    outcome = run(workload="sum-squares", tasks=6, params={"size": 200_000})
    trace = outcome.trace
    slots = [lane for lane in trace.lanes if lane.kind == events.LANE_CORO]
    assert len(slots) == 1  # never two in progress: one lane is all the loop needed
    assert trace.stats().parallelism <= 1.05
    figures = assess(trace, outcome.status)
    assert figures.reading.startswith("one task at a time")


def test_as_completed_hands_results_back_in_finish_order(no_leftovers: None) -> None:
    trace = run(workload="sleep", tasks=6, mode="as-completed", params={"scale": 0.02}).trace
    order = list(trace.recv_order)
    assert order == sorted(range(6), key=lambda t: trace.end[t])
    assert order != list(range(6)), "the random sleeps end out of input order"


def test_a_raising_coroutine_is_that_tasks_error_and_the_rest_finish(no_leftovers: None) -> None:
    outcome = session.run(
        build_spec(backend="asyncio", target="tests.sample_targets:fetch_later", inputs="[1, 2, 3]")
    )
    trace = outcome.trace
    assert trace.status[1] == events.ERROR and "ValueError" in trace.errors[1]
    assert trace.status[0] == trace.status[2] == events.OK
    assert trace.results[2] == "30"  # an async def target is awaited on the loop


def test_a_users_plain_function_runs_in_to_thread_threads_on_lanes_of_their_own(
    no_leftovers: None,
) -> None:
    outcome = session.run(
        build_spec(backend="asyncio", target="tests.sample_targets:nap", inputs="[0.2, 0.2, 0.2]")
    )
    assert outcome.status == session.FINISHED, outcome.message
    trace = outcome.trace
    assert {lane.kind for lane in trace.lanes} == {events.LANE_THREAD}
    assert len({lane.tid for lane in trace.lanes}) == 3  # the waits overlap, a thread each
    assert trace.stats().wall_s < 0.5
    assert "asyncio.to_thread" in assess(trace, outcome.status).reading


def test_the_loops_own_lane_shows_each_step_and_a_blocking_call_as_one_long_one(
    no_leftovers: None,
) -> None:
    sleeping = run(workload="sleep", tasks=6, params={"scale": 0.02}).trace
    loops = [lane for lane in sleeping.lanes if lane.kind == events.LANE_LOOP]
    assert len(loops) == 1 and sleeping.lanes[0] is loops[0]  # drawn above the tasks' lanes
    steps = sleeping.steps
    assert sorted(set(steps.task)) == list(range(6))
    assert steps.count >= 12  # each sleep: a step up to its await, and one after it
    spans = [steps.end[i] - steps.start[i] for i in range(steps.count)]
    assert sum(spans) < sleeping.stats().wall_s * 1e9 / 4  # the loop mostly waited
    computing = run(workload="sum-squares", tasks=4, params={"size": 200_000}).trace
    steps = computing.steps
    assert steps.count == 4, "a coroutine that never awaits is one step: it holds the loop"
    for task in range(4):
        assert (
            steps.start[task] == computing.start[task]
            or abs(steps.start[task] - computing.start[task]) < 1_000_000
        )


def test_workers_limits_the_coroutines_in_progress_and_the_rest_wait_queued(
    no_leftovers: None,
) -> None:
    trace = run(workload="sleep", tasks=9, workers=3, params={"scale": 0.02}).trace
    slots = [lane for lane in trace.lanes if lane.kind == events.LANE_CORO]
    assert len(slots) == 3  # never more than three in progress
    assert trace.stats().parallelism <= 3.05
    starts = sorted(trace.start[t] for t in range(9))
    assert starts[3] - starts[0] > 10_000_000, "the fourth waited for a free slot"
    assert trace.info["spec"]["workers"] == 3


def test_the_dashboard_shows_no_limit_on_asyncio_until_workers_are_set() -> None:
    from tui.choices import Choices

    choices = Choices(backend="asyncio")
    assert choices.workers_label() == "no limit"
    assert not choices.to_spec().workers_given
    limited = choices.with_workers(+1)
    assert limited.workers_label() == choices.workers + 1 and limited.to_spec().workers_given
    assert choices.with_text("workers", "4").to_spec().workers == 4
    assert choices.with_text("workers", "4").with_text("workers", "").workers_label() == "no limit"
