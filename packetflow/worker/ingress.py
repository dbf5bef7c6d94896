"""The requests topic, consumed in batches straight from aiokafka.

Each batch goes decode → check → execute → publish record by record
(:class:`~packetflow.pipeline.process.Processor`), its answers are handed to the
producer as they are made, then the producer is flushed and only then are the
batch's offsets committed. A request is therefore never committed before its
response, effect and audit records are on the broker (at-least-once). The next
batch is fetched when this one is committed, which is the backpressure: at most
``PACKETFLOW_BATCH`` records are in flight per worker, whatever the lag.

Records of one partition run in order; up to ``PACKETFLOW_CONCURRENCY``
partitions of a batch run concurrently. Rate-limited and reactor capabilities
leave this loop as hop records to their internal topics, consumed by Faust
agents with keyed state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError

from packetflow.metrics import Metrics
from packetflow.pipeline.publish import Publisher
from packetflow.records import Outbound, RawRecord
from packetflow.worker.sink import UndeliveredRecord, replacement_answer

__all__ = [
    "BatchConsumer",
    "BatchProducer",
    "Ingress",
    "IngressConfig",
    "WaitForBatch",
    "lanes_of",
]

log = logging.getLogger("packetflow.ingress")

Handler = Callable[[RawRecord], Awaitable[list[Outbound]]]


class BatchConsumer(Protocol):
    """What the ingress needs of an ``AIOKafkaConsumer``."""

    async def getmany(
        self, *partitions: Any, timeout_ms: int = 0, max_records: int | None = None
    ) -> Mapping[Any, Sequence[Any]]:
        """Fetched records by topic-partition."""

    async def commit(self, offsets: Mapping[Any, int] | None = None) -> None:
        """Commit the next offset to read per topic-partition."""


class BatchProducer(Protocol):
    """What the ingress needs of Faust's producer."""

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
    ) -> Awaitable[Any]:
        """Schedule one record; the awaitable resolves when the broker has it."""

    async def flush(self) -> None:
        """Wait until every scheduled record is delivered or failed."""


@dataclass(frozen=True, slots=True)
class IngressConfig:
    """How the ingress batches: records per batch, partitions run at once, idle poll."""

    batch: int = 1000
    concurrency: int = 8
    poll_ms: int = 200


def lanes_of(batch: Mapping[Any, Sequence[RawRecord]], lanes: int) -> list[list[RawRecord]]:
    """Records split into at most ``lanes`` lists, each holding whole partitions in order."""
    out: list[list[RawRecord]] = [[] for _ in range(max(1, min(lanes, len(batch))))]
    for n, records in enumerate(batch.values()):
        out[n % len(out)].extend(records)
    return out


class Ingress:
    """Runs batches of the requests topic until stopped; see the module docstring."""

    def __init__(
        self,
        consumer: BatchConsumer,
        producer: BatchProducer,
        handle: Handler,
        publisher: Publisher,
        metrics: Metrics,
        config: IngressConfig | None = None,
    ) -> None:
        self._consumer = consumer
        self._producer = producer
        self._handle = handle
        self._publisher = publisher
        self._metrics = metrics
        self.config = config or IngressConfig()
        self.busy = asyncio.Lock()  # held while a batch is between fetch and commit

    async def run(self, should_stop: Callable[[], bool]) -> None:
        """Fetch, answer and commit batches until ``should_stop()``."""
        while not should_stop():
            await self.step()

    async def step(self) -> int:
        """One batch: fetch, answer, deliver, commit. Returns the number of records."""
        fetched = await self._consumer.getmany(
            timeout_ms=self.config.poll_ms, max_records=self.config.batch
        )
        if not fetched:
            return 0
        batch = {tp: [_raw(m) for m in msgs] for tp, msgs in fetched.items() if msgs}
        async with self.busy:
            await self.answer(batch)
            await self._commit({tp: records[-1].offset + 1 for tp, records in batch.items()})
        count = sum(map(len, batch.values()))
        self._metrics.batch_size.observe(count)
        return count

    async def _commit(self, offsets: Mapping[Any, int]) -> None:
        try:
            await self._consumer.commit(offsets)
        except CommitFailedError as exc:  # the partitions moved on: their new owner redoes them
            log.warning("batch answered but not committed (group rebalanced): %s", exc)

    async def answer(self, batch: Mapping[Any, Sequence[RawRecord]]) -> None:
        """Handle every record and wait until all its records are delivered.

        Raises :class:`UndeliveredRecord` if a record other than a response
        could not be delivered: the batch must then not be committed.
        """
        sent: list[tuple[Outbound, Awaitable[Any]]] = []
        lanes = lanes_of(batch, self.config.concurrency)
        if len(lanes) == 1:
            await self._lane(lanes[0], sent)
        else:
            await asyncio.gather(*(self._lane(lane, sent) for lane in lanes))
        await self._producer.flush()
        await self._settle(sent)

    async def _lane(self, records: Iterable[RawRecord], sent: list[tuple[Outbound, Any]]) -> None:
        for record in records:
            for out in await self._handle(record):
                sent.append((out, await self._send(out)))

    async def _send(self, out: Outbound) -> Awaitable[Any]:
        return await self._producer.send(
            out.topic, out.key, out.value, out.partition, None, list(out.headers)
        )

    async def _settle(self, sent: Sequence[tuple[Outbound, Any]]) -> None:
        """Answer undeliverable responses with a small error; raise for any other loss."""
        retries: list[tuple[Outbound, Any]] = []
        for out, fut in sent:
            exc = _failure(fut)
            if exc is None:
                continue
            self._metrics.messages.labels(outcome="undelivered").inc()
            if out.kind != "capability_response":
                log.critical("%s record to %s could not be delivered: %r", out.kind, out.topic, exc)
                raise UndeliveredRecord(out, exc)
            log.error("response to %r could not be delivered: %r", out.key, exc)
            answer = replacement_answer(self._publisher, out, exc)
            retries.append((answer, await self._send(answer)))
        if retries:
            await self._producer.flush()
            for out, fut in retries:
                exc = _failure(fut)
                if exc is not None:
                    raise UndeliveredRecord(out, exc)


class WaitForBatch(ConsumerRebalanceListener):  # type: ignore[misc]
    """Lets a rebalance revoke partitions only between batches, after the commit."""

    def __init__(self, busy: asyncio.Lock) -> None:
        self._busy = busy

    async def on_partitions_revoked(self, revoked: Any) -> None:
        """Wait for the batch in flight to be answered and committed."""
        async with self._busy:
            log.info("partitions revoked: %s", sorted(map(str, revoked)))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        """Nothing to restore: the ingress keeps no state."""
        log.info("partitions assigned: %s", sorted(map(str, assigned)))


def _failure(fut: Any) -> BaseException | None:
    if not fut.done():
        return RuntimeError("not delivered after a flush")
    if fut.cancelled():
        return asyncio.CancelledError()
    exc: BaseException | None = fut.exception()
    return exc


def _raw(message: Any) -> RawRecord:
    """An aiokafka ``ConsumerRecord`` as a :class:`RawRecord`."""
    return RawRecord(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        headers=tuple((k, v if v is not None else b"") for k, v in message.headers or ()),
        timestamp_ms=message.timestamp,
    )
