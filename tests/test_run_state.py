"""The run state: what a run is doing, awaited rather than polled."""

from __future__ import annotations

import asyncio
import json
import time

from tests.conftest import leftover_children
from workloads import session
from workloads.session import RunState
from workloads.spec import build_spec


def test_states_read_as_the_words_shown_and_say_whether_the_run_is_over() -> None:
    assert f"{RunState.FINISHED} · threads" == "finished · threads"
    assert json.dumps({"status": RunState.STALLED}) == '{"status": "stalled"}'
    assert RunState.CANCELLED == "cancelled"
    assert [s for s in RunState if s.ended] == [
        RunState.FINISHED,
        RunState.FAILED,
        RunState.STALLED,
        RunState.CANCELLED,
        RunState.CRASHED,
    ]
    assert RunState.CANCELLING.live and not RunState.IDLE.live


async def test_a_run_is_awaited_while_the_event_loop_goes_on() -> None:
    spec = build_spec(
        workload="sleep", backend="process-pool", tasks=4, workers=2, params={"scale": 0.3}
    )
    run = session.Session(spec).start()
    assert run.state is RunState.RUNNING
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    outcome = await asyncio.wait_for(run.ended(), 60)
    waited = time.monotonic() - started
    ticker.cancel()
    assert outcome.status is RunState.FINISHED and run.state is RunState.FINISHED
    # The loop kept turning the whole time (a blocking wait would leave ticks near 0).
    assert ticks >= waited / 0.01 / 4
    assert await run.ended() is outcome, "an ended run answers at once"
    assert not leftover_children()


async def test_cancelling_is_a_state_and_ends_as_cancelled() -> None:
    spec = build_spec(
        workload="sleep", backend="process-pool", tasks=6, workers=2, params={"scale": 1.0}
    )
    run = session.Session(spec).start()
    while not run.trace.lanes and not run.done:  # the bridge fills the trace as it runs
        await asyncio.sleep(0.05)
    run.cancel()
    assert run.state is RunState.CANCELLING
    outcome = await asyncio.wait_for(run.ended(), 30)
    assert outcome.status is RunState.CANCELLED
    assert not leftover_children()
