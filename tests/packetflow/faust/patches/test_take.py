"""take_ready: an agent's batches are what has arrived, without a timer, never more than max.

Most tests drive it with a fake stream that behaves as Faust's does (a passive drainer feeding
each value to the stream's processors, ``current_event`` set meanwhile) but never stops, so a
batch can only come from the readiness rule itself. One runs a real Faust agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import SimpleNamespace
from typing import Any

import faust

from packetflow.faust.patches import take_ready

DEADLINE_S = 10.0  # a deadline for a hang, not a timing threshold


class Stream:
    """What take_ready uses of a Faust stream; it never stops by itself."""

    def __init__(self) -> None:
        self._values: asyncio.Queue[Any] = asyncio.Queue()
        self.channel = SimpleNamespace(queue=self._values)
        self.enable_acks = True
        self.current_event: Any = None
        self.should_stop = False
        self.log = logging.getLogger("test")
        self.acked: list[int] = []
        self._processors: list[Any] = []
        self._drainer: asyncio.Task[None] | None = None

    def add_processor(self, processor: Any) -> None:
        self._processors.append(processor)

    def _enable_passive(self, channel: Any) -> None:
        self._drainer = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        while True:
            event = await self._values.get()
            self.current_event = event
            for processor in self._processors:
                await processor(event.value)

    async def wait_for_stopped(self, event: asyncio.Event, timeout: float | None = None) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        return self.should_stop

    async def wait(self, event: asyncio.Event) -> None:
        await event.wait()

    async def ack(self, event: Any) -> None:
        self.acked.append(event.value)

    async def crash(self, exc: BaseException) -> None:
        raise exc

    def put(self, *values: int) -> None:
        for value in values:
            self._values.put_nowait(SimpleNamespace(value=value))

    async def stop(self) -> None:
        if self._drainer is not None:
            self._drainer.cancel()
            await asyncio.gather(self._drainer, return_exceptions=True)


async def _taking(stream: Stream, max_: int) -> tuple[Any, asyncio.Queue[list[int]]]:
    """Batches of ``stream`` as they are yielded; each is held until the next is asked for."""
    batches = take_ready(stream, max_)
    out: asyncio.Queue[list[int]] = asyncio.Queue()

    async def pull() -> None:
        async for events in batches:
            await out.put([e.value for e in events])
            await out.join()  # held until the test says it is done with it

    return asyncio.ensure_future(pull()), out


async def _stop(task: Any, stream: Stream) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await stream.stop()


async def _batch(out: asyncio.Queue[list[int]]) -> list[int]:
    return await asyncio.wait_for(out.get(), DEADLINE_S)


async def test_a_lone_event_is_handed_over_with_nothing_more_coming() -> None:
    stream = Stream()
    task, out = await _taking(stream, max_=100)
    stream.put(1)
    assert await _batch(out) == [1]  # take_events(100, within=None) would wait for 99 more
    await _stop(task, stream)


async def test_events_arriving_while_a_batch_is_answered_make_the_next_batch() -> None:
    stream = Stream()
    task, out = await _taking(stream, max_=100)
    stream.put(1)
    assert await _batch(out) == [1]
    stream.put(2, 3, 4)  # the first batch is still being answered
    assert stream.acked == []  # acked only once its batch is done
    out.task_done()
    assert await _batch(out) == [2, 3, 4]
    assert stream.acked == [1]
    await _stop(task, stream)


async def test_a_batch_never_holds_more_than_max_and_keeps_the_order() -> None:
    stream = Stream()
    task, out = await _taking(stream, max_=3)
    stream.put(*range(8))
    seen: list[list[int]] = []
    while sum(map(len, seen)) < 8:
        seen.append(await _batch(out))
        out.task_done()
    assert [v for batch in seen for v in batch] == list(range(8))
    assert max(map(len, seen)) <= 3
    await _stop(task, stream)


async def test_events_are_handed_over_even_if_the_channel_never_runs_dry() -> None:
    # a rebalance clears the queue the rest of a batch was in, then waits for these acks
    stream = Stream()
    stream.channel.queue = SimpleNamespace(empty=lambda: False)
    task, out = await _taking(stream, max_=100)
    stream.put(1)
    assert await _batch(out) == [1]
    await _stop(task, stream)


async def test_a_faust_agent_takes_every_event_in_order() -> None:
    app = faust.App("take-test", broker="kafka://127.0.0.1:1")  # never connected
    seen: list[int] = []
    done = asyncio.Event()

    @app.agent()
    async def agent(stream: Any) -> None:
        async for events in take_ready(stream, 4):
            seen.extend(e.value for e in events)
            if len(seen) == 10:
                done.set()

    async with agent.test_context() as running:
        for value in range(10):
            await running.put(value, wait=False)
        await asyncio.wait_for(done.wait(), DEADLINE_S)
    assert seen == list(range(10))
