"""Offsets of answered batches, committed in order once their records are on the broker.

Each batch the request loop answers is handed over with the producer futures
of its records (:data:`~packetflow.kafka.batches.Sent`) and the offsets that
answer it. Its delivery waits for the broker to acknowledge every record
(and, through ``settle``, for replacement answers), then for the delivery of
the batch before it: offsets become committable in batch order, and after a
loss none do. One commit at a time covers everything that became committable
meanwhile, in a task of its own: the loop never waits for Kafka's group
coordinator, which lingers on each commit for a few milliseconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from aiokafka.errors import CommitFailedError, IllegalStateError

from packetflow.kafka.batches import Sent, acknowledged, failure

__all__ = ["Committer", "Deliveries"]

log = logging.getLogger("packetflow.ingress")

Settle = Callable[[Sent], Awaitable[None]]
"""Deals with the records of a batch the broker refused; raises if that is a loss."""


class Committer(Protocol):
    """What the deliveries need of an ``AIOKafkaConsumer``."""

    async def commit(self, offsets: Mapping[Any, int] | None = None) -> None:
        """Commit the next offset to read per topic-partition."""

    def assignment(self) -> set[Any]:
        """The topic-partitions this consumer owns now."""


class Deliveries:
    """Batches on their way to the broker, oldest first, and the commits that follow them."""

    def __init__(self, consumer: Committer, settle: Settle, limit: int = 2) -> None:
        self._consumer = consumer
        self._settle = settle
        self._limit = limit  # records awaiting the broker at most (a single batch may pass it)
        self._pending: deque[asyncio.Future[None]] = deque()
        self._sizes: deque[int] = deque()
        self._waiting = 0
        self._committable: dict[Any, int] = {}  # acknowledged, in order, not yet committed
        self._committer: asyncio.Future[None] | None = None
        self._lost: BaseException | None = None  # once set, nothing is ever committed again

    def add(self, sent: Sent, offsets: Mapping[Any, int], records: int = 1) -> None:
        """Deliver a batch of ``records`` requests, then make ``offsets`` committable after
        the earlier ones."""
        previous = self._pending[-1] if self._pending else None
        delivery = asyncio.ensure_future(self._deliver(sent, offsets, previous))
        delivery.add_done_callback(_seen)
        self._pending.append(delivery)
        self._sizes.append(records)
        self._waiting += records

    def full(self, records: int = 1) -> bool:
        """Whether a batch of ``records`` more would pass the limit (and so must wait)."""
        return bool(self._pending) and self._waiting + records > self._limit

    async def room(self, records: int = 1) -> None:
        """Wait until a batch of ``records`` more keeps the records awaiting the broker within
        the limit (the backpressure)."""
        while self.full(records):
            await self._oldest()

    def _forget_oldest(self) -> asyncio.Future[None]:
        self._waiting -= self._sizes.popleft()
        return self._pending.popleft()

    def _forget(self, batch: asyncio.Future[None]) -> None:
        if self._pending and self._pending[0] is batch:  # check() may have forgotten it
            self._forget_oldest()

    async def acknowledged(self) -> None:
        """Wait until the broker has answered for every batch added so far.

        Their offsets are then committable; they may not be committed yet.
        """
        pending = [fut for fut in self._pending if not fut.done()]
        if pending:
            await asyncio.wait(pending)

    async def drain(self) -> None:
        """Wait until every batch added so far is committed; raise if one never will be."""
        while self._pending:
            await self._oldest()
        committer = self._committer
        if committer is not None:
            await asyncio.wait([committer])
        self.check()

    def check(self) -> None:
        """Forget the batches acknowledged so far; raise a loss, or a commit that failed."""
        while self._pending and self._pending[0].done():
            exc = failure(self._forget_oldest())
            if exc is not None:
                self._lost = exc
        committer = self._committer
        if committer is not None and committer.done() and self._lost is None:
            self._lost = failure(committer)
        if self._lost is not None:
            raise self._lost

    async def _oldest(self) -> None:
        """Wait until the oldest batch is acknowledged; raise if it never will be."""
        if self._lost is not None:
            raise self._lost
        oldest = self._pending[0]
        try:
            await oldest
        except BaseException as exc:  # also seen by the loop when a rebalance drained it
            if oldest.done():
                self._forget(oldest)
                self._lost = exc
            raise
        self._forget(oldest)

    async def _deliver(
        self, sent: Sent, offsets: Mapping[Any, int], previous: asyncio.Future[None] | None
    ) -> None:
        await acknowledged(sent)
        await self._settle(sent)
        if previous is not None:  # offsets become committable in order; after a loss, none do
            await asyncio.wait([previous])
            failed = failure(previous)
            if failed is not None:
                raise failed
        self._committable.update(offsets)
        if self._committer is None or self._committer.done():
            self.check()  # a committer that failed is a loss, not something to start again
            self._committer = asyncio.ensure_future(self._commit_all())

    async def _commit_all(self) -> None:
        """Commit what became committable, one commit at a time, until nothing is left."""
        while self._committable:
            offsets, self._committable = self._committable, {}
            owned = self._consumer.assignment()
            mine = {tp: offset for tp, offset in offsets.items() if tp in owned}
            try:
                if mine:
                    await self._consumer.commit(mine)
            except (CommitFailedError, IllegalStateError) as exc:  # revoked meanwhile
                log.warning("batch answered but not committed (group rebalanced): %s", exc)
            if len(mine) < len(offsets):  # the new owner answers them again (at-least-once)
                log.info("answered records of revoked partitions: %s", sorted(set(offsets) - owned))


def _seen(delivery: asyncio.Future[None]) -> None:
    """Mark a batch's failure as retrieved. :meth:`Deliveries.check` and
    :meth:`Deliveries.drain` raise the first loss; the batches after it fail with the
    same one, and must not each log it again when the stopped loop drops them."""
    if not delivery.cancelled():
        delivery.exception()
