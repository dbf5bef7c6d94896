"""A reactor's answers, delivered in order behind its agent.

The answers and effects of applied requests may leave only once the state
changes they report are on the broker: a producer flush, a round trip or two
(aiokafka keeps one produce request in flight per broker). Waiting for it in
the agent left the agent idle for that time after every batch, and every
event behind the batch waited too. Instead the agent hands each batch's
answers to its :class:`AnswerQueue` and applies the next batch; each delivery
flushes, then sends its answers once the previous delivery has sent its own
(answer and effect order per key is the order of application), and ends when
the broker has acknowledged them. At most ``in_flight`` deliveries run: the
agent waits for the oldest beyond that.

Faust acks a batch's events when the agent returns, before their answers
are delivered, so Faust's commit waits for every delivery begun before it
(:class:`Outstanding`, installed with :func:`~.sink.commit_after_resends`). A
delivery that fails ends the process (:func:`~.halt.finish`): nothing is
committed past it, and its events are redelivered.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from packetflow.records import Outbound
from packetflow.worker.batches import Sent, acknowledged
from packetflow.worker.halt import Halt, finish, halt

__all__ = ["AnswerQueue", "Outstanding", "UndeliveredAnswers"]


class Outstanding:
    """The answer deliveries of a worker's agents that have not ended yet."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Future[None]] = set()

    def add(self, task: asyncio.Future[None]) -> None:
        """Track ``task`` until it is done."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait for every delivery begun so far (not for those begun meanwhile)."""
        begun = list(self._tasks)
        if begun:
            await asyncio.wait(begun)


class AnswerQueue:
    """Delivers one agent's answers in order, each batch after a flush, while the agent goes on."""

    def __init__(
        self,
        flush: Callable[[], Awaitable[None]],
        send: Callable[[list[Outbound]], Awaitable[Sent]],
        outstanding: Outstanding,
        in_flight: int = 2,
        on_failure: Halt = halt,
    ) -> None:
        self._flush = flush
        self._send = send
        self._outstanding = outstanding
        self._in_flight = in_flight
        self._on_failure = on_failure
        self._running: deque[asyncio.Future[None]] = deque()
        self._last_sent: asyncio.Future[bool] | None = None

    async def submit(self, outputs: list[Outbound]) -> None:
        """Start delivering ``outputs``; waits first while ``in_flight`` deliveries run."""
        while self._running and (len(self._running) >= self._in_flight or self._running[0].done()):
            await asyncio.wait({self._running[0]})
            self._running.popleft()
        sent: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        work = self._deliver(outputs, self._last_sent, sent)
        task = asyncio.ensure_future(finish(work, self._on_failure))
        self._last_sent = sent
        self._running.append(task)
        self._outstanding.add(task)

    async def drain(self) -> None:
        """Wait until every delivery submitted so far has ended."""
        while self._running:
            await asyncio.wait({self._running.popleft()})

    async def _deliver(
        self,
        outputs: list[Outbound],
        previous: asyncio.Future[bool] | None,
        sent: asyncio.Future[bool],
    ) -> None:
        try:
            await self._flush()  # the state changes these answers report are durable ...
            if previous is not None and not await previous:  # ... and earlier answers are out
                raise UndeliveredAnswers("an earlier delivery of this agent failed")
            handed = await self._send(outputs)
        except BaseException:
            sent.set_result(False)  # the deliveries after this one do not send either
            raise
        sent.set_result(True)
        await acknowledged(handed)


class UndeliveredAnswers(Exception):
    """A delivery did not send its answers because the one before it failed."""
