"""take_ready: an agent's batches are what has arrived, without a timer, never more than max."""

from __future__ import annotations

import asyncio
from typing import Any

import faust

from packetflow.faust.patches import take_ready

DEADLINE_S = 10.0  # a deadline for a hang, not a timing threshold


def _agent(max_: int) -> tuple[Any, list[list[int]], asyncio.Event, list[asyncio.Event]]:
    """An agent taking ``take_ready`` batches; each batch waits for its own release event."""
    app = faust.App("take-test", broker="kafka://127.0.0.1:1")  # never connected
    batches: list[list[int]] = []
    arrived = asyncio.Event()
    releases: list[asyncio.Event] = [asyncio.Event() for _ in range(20)]

    @app.agent()
    async def agent(stream: Any) -> None:
        async for events in take_ready(stream, max_):
            batches.append([e.value for e in events])
            arrived.set()
            await releases[len(batches) - 1].wait()

    return agent, batches, arrived, releases


async def _next(arrived: asyncio.Event) -> None:
    await asyncio.wait_for(arrived.wait(), DEADLINE_S)
    arrived.clear()


async def test_a_lone_event_is_handed_over_with_nothing_more_coming() -> None:
    agent, batches, arrived, releases = _agent(max_=100)
    async with agent.test_context() as running:
        await running.put(1, wait=False)
        await _next(arrived)  # take_events(100, within=None) would wait for 99 more
        assert batches == [[1]]
        releases[0].set()


async def test_events_arriving_while_a_batch_is_answered_make_the_next_batch() -> None:
    agent, batches, arrived, releases = _agent(max_=100)
    async with agent.test_context() as running:
        await running.put(1, wait=False)
        await _next(arrived)
        for value in (2, 3, 4):  # the first batch is still being answered
            await running.put(value, wait=False)
        releases[0].set()
        await _next(arrived)
        assert batches == [[1], [2, 3, 4]]
        releases[1].set()


async def test_a_batch_never_holds_more_than_max_and_keeps_the_order() -> None:
    agent, batches, arrived, releases = _agent(max_=3)
    async with agent.test_context() as running:
        await running.put(0, wait=False)
        await _next(arrived)
        for value in range(1, 8):
            await running.put(value, wait=False)
        for release in releases[:4]:
            release.set()
            if sum(map(len, batches)) < 8:
                await _next(arrived)
        assert [v for batch in batches for v in batch] == list(range(8))
        assert max(map(len, batches)) <= 3
