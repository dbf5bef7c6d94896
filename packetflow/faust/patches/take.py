"""Batches of what a stream has ready: Faust's ``take_events`` without its timer.

``Stream.take_events(max_, within)`` yields a batch when ``max_`` events are
buffered or when ``within`` seconds have passed, so at light load every event
waits out the rest of a timer that ticks even while the stream is idle. A
reactor's agent rather takes what has arrived: :func:`take_ready` yields as soon
as the channel holds nothing more, or ``max_`` events are buffered. While a batch
is being applied the next one gathers in the channel, so batches grow with the
load by themselves (natural batching) and no event waits for a clock.

The loop is Faust's own (faust-streaming 0.15's ``take_events``) with the
timeout replaced by "the channel is empty": events are buffered by a stream
processor fed by the passive drainer, acked only once their batch is consumed,
and the buffer never grows past ``max_``. One timer remains, for the one case
where the channel never runs dry while events wait (:data:`IDLE_CHECK_S`);
without it a rebalance waited a minute for the acks of a half-taken batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from mode.utils.futures import notify

__all__ = ["take_ready"]

IDLE_CHECK_S = 0.1
"""How long buffered events may wait for a channel that will not run dry by itself: a
rebalance clears the channel's queue (Faust's queues clear on resume) and waits for the
buffered events' acks before it resumes the flow that would bring the next value."""


async def take_ready(stream: Any, max_: int) -> AsyncGenerator[list[Any], None]:
    """Yield lists of ``stream``'s events: those ready when the channel runs dry, ``max_`` at most.

    ``stream`` is an agent's Faust stream; its events are acked after their list is consumed.
    """
    events: list[Any] = []
    ready = asyncio.Event()  # the buffer holds a batch to yield
    consumed = asyncio.Event()  # a full buffer was emptied
    consuming: asyncio.Future[None] | None = None  # set while a batch is out
    queue = stream.channel.queue
    acks = stream.enable_acks

    async def add_to_buffer(value: Any) -> Any:
        nonlocal consuming
        try:
            if consuming is not None:
                try:
                    await consuming
                finally:
                    consuming = None
            event = stream.current_event
            if event is None:
                raise RuntimeError("take_ready found current_event is None")
            events.append(event)
            if len(events) >= max_:
                ready.set()
                consumed.clear()
                await stream.wait(consumed)  # never more than max_ buffered
            elif queue.empty():
                ready.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            stream.log.exception("Error adding to take buffer: %r", exc)
            await stream.crash(exc)
        return value

    stream.enable_acks = False  # acked here, once their batch is consumed
    stream.add_processor(add_to_buffer)
    stream._enable_passive(stream.channel)
    try:
        while not stream.should_stop:
            await stream.wait_for_stopped(ready, timeout=IDLE_CHECK_S)
            if not events:
                ready.clear()
                continue
            consuming = asyncio.get_running_loop().create_future()
            try:
                yield list(events)
            finally:
                batch, events[:] = list(events), []
                for event in batch:
                    await stream.ack(event)
                notify(consuming)
                ready.clear()
                consumed.set()
    finally:
        stream.enable_acks = acks
        stream._processors.remove(add_to_buffer)
