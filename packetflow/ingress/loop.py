"""The requests topic, consumed in batches straight from aiokafka.

Each batch goes decode → check → execute → publish record by record
(:class:`~packetflow.pipeline.process.Processor`); its answers are appended
to one producer batch per topic-partition (:mod:`.batches`), queued together
once the batch is answered. While the broker acknowledges them, the next
batch is fetched and processed; its offsets are committed once every record it
produced is on the broker and every earlier batch is committed
(:mod:`.commits`), so a request is never committed before its response, effect
and audit records are (at-least-once), and the loop never waits for a commit.
The requests of at most two full batches (``PACKETFLOW_BATCH`` records each)
wait for acknowledgement per worker, whatever the lag: that is the
backpressure. Under a steady load the batches are small, and many of them may
be on their way at once.

Hop records (see below) are written as bundles per partition of their topic
(:mod:`.linger`): a partition's bundle stays open across batches for up to
``PACKETFLOW_HOP_LINGER_MS``, and a batch is committed once the bundles
holding its hops are on the broker. Between batches the loop polls no longer
than the next bundle may wait. Under a steady load on reactors (a batch of a
few requests, some of them hops) the loop lets requests gather for
``PACKETFLOW_HOP_BATCH_WAIT_MS`` before its next fetch: fewer, larger batches
mean fewer round trips to the broker and fewer records through Faust's
per-message path, which is what bounds a reactor under such a load.

Up to ``PACKETFLOW_CONCURRENCY`` records of a batch execute at once: while
one waits on I/O the next one starts (as with a Faust agent's concurrency,
the order of a partition's records is then not kept; reactors keep it).
Rate-limited and reactor capabilities leave this loop as hop records to
their internal topics, consumed by Faust agents with keyed state.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka import ConsumerRebalanceListener

from packetflow.ingress.commits import Deliveries
from packetflow.kafka.batches import (
    BatchProducer,
    BatchWriter,
    Place,
    Sent,
    acknowledged,
    failure,
)
from packetflow.kafka.linger import HeldHops
from packetflow.kafka.records import consumer_record
from packetflow.kafka.transactions import Replace, TransactionCommits, Transactions
from packetflow.pipeline.refused import UndeliveredRecord
from packetflow.records import Outbound, RawRecord

__all__ = [
    "BatchConsumer",
    "Ingress",
    "IngressConfig",
    "WaitForBatch",
]

log = logging.getLogger("packetflow.ingress")

IN_FLIGHT = 2
"""Full batches answered but not yet acknowledged, at most (counted in records)."""

Handler = Callable[[RawRecord], Awaitable[list[Outbound]]]


class BatchConsumer(Protocol):
    """What the ingress needs of an ``AIOKafkaConsumer``."""

    async def getmany(
        self, *partitions: Any, timeout_ms: int = 0, max_records: int | None = None
    ) -> Mapping[Any, Sequence[Any]]:
        """Fetched records by topic-partition."""

    async def commit(self, offsets: Mapping[Any, int] | None = None) -> None:
        """Commit the next offset to read per topic-partition."""

    def assignment(self) -> set[Any]:
        """The topic-partitions this consumer owns now."""


BATCH_WAIT_MIN = 3
"""A batch of fewer requests than this is light load: the next fetch does not wait."""


@dataclass(frozen=True, slots=True)
class IngressConfig:
    """How the ingress batches: records per batch, records run at once, idle poll, the
    most hop records written as one bundle (:mod:`packetflow.hops.bundle`; 1: none),
    how long a bundle may stay open for more (:mod:`.linger`), and how long the loop
    waits before its next fetch while hops come in under load (see the module doc)."""

    batch: int = 1000
    concurrency: int = 8
    poll_ms: int = 200
    bundle: int = 1
    linger_ms: int = 0
    batch_wait_ms: int = 0


class Ingress:
    """Runs batches of the requests topic until stopped; see the module docstring."""

    def __init__(
        self,
        consumer: BatchConsumer,
        producer: BatchProducer,
        handle: Handler,
        replace: Replace,
        config: IngressConfig | None = None,
        place: Place | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transactions: Transactions | None = None,
        batched: Callable[[int], None] = lambda count: None,
    ) -> None:
        self._consumer = consumer
        self._place: Place = place or _unplaced  # None: the producer partitions every record
        self._producer: BatchProducer = transactions or producer
        self._transactional = transactions is not None
        self._handle = handle
        self._replace = replace  # refused records: their replacements, or raises on a loss
        self._batched = batched  # told each batch's record count (a metric)
        self.config = config or IngressConfig()
        self.busy = asyncio.Lock()  # held while a batch is being processed
        self._sleep = sleep
        self.moves = 0
        """Rebalances so far: a batch fetched before one is not processed (see :meth:`step`)."""
        self.reposition: Callable[[set[Any]], Awaitable[None]] | None = None
        """Places partitions (set by :class:`WaitForBatch`); a dropped batch's are placed again."""
        self.placing = False
        """Between a revocation and the placing of the partitions assigned after it."""
        self.misplaced: BaseException | None = None
        """Why partitions could not be placed after a rebalance: the loop stops on it."""
        self._last_count = 0  # requests in the last batch
        self._hopped = False  # whether the last batch routed any request through a hop
        self._deliveries: Deliveries | TransactionCommits = (
            Deliveries(consumer, self._settle, IN_FLIGHT * self.config.batch)
            if transactions is None
            else TransactionCommits(transactions)
        )
        self._answered: dict[Any, int] = {}  # exactly once: past the records answered so far
        linger = self.config.linger_ms if transactions is None else 0  # a bundle per transaction
        self._hops = (
            HeldHops(self.config.bundle, linger / 1000, clock) if self.config.bundle > 1 else None
        )

    async def run(self, should_stop: Callable[[], bool]) -> None:
        """Fetch, answer and commit batches until ``should_stop()``."""
        while not should_stop():
            await self.step()
        await self.drain()

    async def step(self) -> int:
        """Fetch one batch, answer it and start its delivery. Returns its record count."""
        self._deliveries.check()
        wait = self._batch_wait()
        if wait > 0:
            await self._sleep(wait)
        moves = self.moves
        fetched = await self._consumer.getmany(
            timeout_ms=self._poll_ms(), max_records=self.config.batch
        )
        async with self.busy:
            if self.misplaced is not None:  # aiokafka would read them from a stale offset
                raise self.misplaced
            if self.moves != moves or self.placing:  # fetched around a rebalance's placing
                await self._read_again(set(fetched), self._consumer.assignment())
                return 0
            # a rebalance may have revoked partitions since the fetch: their new owner has them
            owned = self._consumer.assignment()
            batch = {
                tp: [consumer_record(m) for m in msgs]
                for tp, msgs in fetched.items()
                if msgs and tp in owned
            }
            if self._answered:  # exactly once, read again after a seek: never answered twice
                batch = self._unanswered(batch)
            self._deliveries.check()
            self._last_count, self._hopped = 0, False
            if not batch:
                await self._write_held()  # the bundles that have waited long enough
                return 0
            count = self._last_count = sum(map(len, batch.values()))
            if self._deliveries.full(count):  # what it waits for may be in a held bundle
                await self._write_held(every_bundle=True)
            if self._transactional:  # processed while the last batch commits, then written
                writer = await self.collect(batch)
                await self._deliveries.room(count)
                sent = await writer.send()
            else:
                await self._deliveries.room(count)
                sent = await self.answer(batch)
            offsets = {tp: rs[-1].offset + 1 for tp, rs in batch.items()}
            if self._transactional:  # committed with them, or the loop stops
                self._answered.update(offsets)
            self._deliveries.add(sent, offsets, count)
        self._batched(count)
        return count

    async def drain(self) -> None:
        """Wait until every batch being delivered is committed.

        Raises :class:`UndeliveredRecord` if one of their records other than a
        response could not be delivered: neither it nor any later batch is
        then committed.
        """
        await self._write_held(every_bundle=True)
        await self._deliveries.drain()

    async def acknowledged(self) -> None:
        """Wait until the broker has answered for every batch handed to it so far."""
        await self._write_held(every_bundle=True)
        await self._deliveries.acknowledged()

    async def _read_again(self, fetched: set[Any], owned: set[Any]) -> None:
        """Place again the owned partitions of a dropped batch: aiokafka has moved past it."""
        again = fetched & owned
        if again and not self.placing and self.reposition is not None:
            await self.reposition(again)

    def _unanswered(self, batch: dict[Any, list[RawRecord]]) -> dict[Any, list[RawRecord]]:
        """The records of ``batch`` at or after each partition's :meth:`answered` offset."""
        done = self._answered
        kept = {tp: [r for r in rs if r.offset >= done.get(tp, 0)] for tp, rs in batch.items()}
        return {tp: rs for tp, rs in kept.items() if rs}

    def answered(self) -> Mapping[Any, int]:
        """Exactly once: per partition, the offset after the last record answered (its
        transaction commits, or the loop stops); empty at least once."""
        return self._answered

    def _batch_wait(self) -> float:
        """How long to let requests gather before the next fetch (seconds; 0: none).

        Only after a batch that routed hops and held at least
        :data:`BATCH_WAIT_MIN` requests but not a full batch: under a steady
        load on reactors, fewer and larger batches cost fewer round trips and
        turns of Faust's per-message path. Never past the next bundle's due time.
        """
        count = self._last_count
        if not self._hopped or count < BATCH_WAIT_MIN or count >= self.config.batch:
            return 0.0
        wait = self.config.batch_wait_ms / 1000
        due = self._bundle_due()
        return wait if due is None else max(0.0, min(wait, due))

    def _bundle_due(self) -> float | None:
        """Seconds until the next held bundle is due; None when none is held."""
        return self._hops.wait() if self._hops is not None else None

    def _poll_ms(self) -> int:
        """How long a fetch may wait: no longer than the next held bundle."""
        wait = self._bundle_due()
        if wait is None:
            return self.config.poll_ms
        return min(self.config.poll_ms, math.ceil(round(wait * 1000, 6)))

    async def _write_held(self, every_bundle: bool = False) -> None:
        """Write the held bundles that are due (all: ``every_bundle``).

        The batches whose hops they hold wait for their delivery, so nothing
        else has to.
        """
        if self._hops:
            await BatchWriter(self._producer, self._place, self._hops).send(every_bundle)

    async def answer(self, batch: Mapping[Any, Sequence[RawRecord]]) -> Sent:
        """Handle every record, then queue all their answers with the producer.

        ``concurrency`` lanes share one iterator over the batch: while a record
        waits (on I/O, a timer) the next lane takes the next record. A record
        that never waits is finished by the first lane before any other starts,
        so quick capabilities pay nothing for it.
        """
        writer = await self.collect(batch)
        return await writer.send()

    async def collect(self, batch: Mapping[Any, Sequence[RawRecord]]) -> BatchWriter:
        """Handle every record; returns their answers, not yet queued (see :meth:`answer`)."""
        writer = BatchWriter(self._producer, self._place, self._hops)
        pending = [r for rs in batch.values() for r in rs]
        records = iter(pending)
        lanes = min(self.config.concurrency, len(pending))
        if lanes <= 1:
            await self._lane(records, writer)
        else:
            await asyncio.gather(*(self._lane(records, writer) for _ in range(lanes)))
        return writer

    async def _lane(self, records: Iterator[RawRecord], writer: BatchWriter) -> None:
        for record in records:
            for out in await self._handle(record):
                if out.kind == "hop":
                    self._hopped = True
                writer.add(out)

    async def _settle(self, sent: Sent) -> None:
        """Answer undeliverable responses with a small error; raise for any other loss."""
        retries = BatchWriter(self._producer, self._place)
        for records, fut in sent:
            exc = failure(fut)
            if exc is not None:
                for answer in self._replace(records, exc):
                    retries.add(answer)
        resent = await retries.send()
        await acknowledged(resent)
        for records, fut in resent:
            exc = failure(fut)
            if exc is not None:
                raise UndeliveredRecord(records[0], exc)


class WaitForBatch(ConsumerRebalanceListener):  # type: ignore[misc]
    """Lets a rebalance revoke partitions only between batches, after their commits; with
    ``position``, places the partitions it assigns (see :func:`.requests.seek_committed`)."""

    def __init__(
        self, ingress: Ingress, position: Callable[[set[Any]], Awaitable[None]] | None = None
    ) -> None:
        self._ingress = ingress
        self._position = position
        ingress.reposition = position

    async def on_partitions_revoked(self, revoked: Any) -> None:
        """Wait for the batches in flight to be answered and committed."""
        async with self._ingress.busy:
            await self._ingress.drain()
            if self._position is not None:  # the assigned partitions will be placed again
                self._ingress.moves += 1
                self._ingress.placing = True
        log.info("partitions revoked: %s", sorted(map(str, revoked)))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        """Nothing to restore, the ingress keeps no state: only where to read from.

        A batch the loop fetched since the revocation, from where aiokafka placed a
        partition, is dropped: the partitions are read again from where ``position`` put
        them, once the batches before are committed (a commit still on its way would be
        missing from what the broker names). So is a batch whose fetch began while they
        were being placed (a loop just started reads ``moves`` then).
        """
        log.info("partitions assigned: %s", sorted(map(str, assigned)))
        if self._position is not None:
            async with self._ingress.busy:
                self._ingress.moves += 1
                try:
                    await self._ingress.drain()  # its commits are what the broker names next
                    await self._position(set(assigned))
                except Exception as exc:  # aiokafka would log it and read on: stop the loop
                    log.critical("assigned partitions could not be placed: %r", exc)
                    self._ingress.misplaced = exc
                self._ingress.moves += 1  # a fetch begun while placing came from before it
                self._ingress.placing = False


def _unplaced(topic: str, key: bytes | None, partition: int | None) -> None:
    return None
