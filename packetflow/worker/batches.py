"""Outbound records written straight into aiokafka batches, one per topic-partition.

Handing aiokafka one record at a time costs a coroutine, a future, a key hash
and an accumulator lookup per record. The request loop instead appends each
record to the open batch of its topic-partition (aiokafka's ``BatchBuilder``,
records encoded by its C extension) and submits every batch at once; a
record is delivered when its batch is. A record whose partition cannot be
chosen yet (its topic's metadata is not known) goes through ``send()``.

Hop records for the same partition of an internal topic are held and written
as bundles of up to ``bundle`` hops (:mod:`packetflow.pipeline.bundle`): the
Faust agent reading that topic then pays its per-record cost once per bundle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from packetflow.pipeline.bundle import BUNDLE_BYTES, framed_size, pack
from packetflow.records import Outbound

__all__ = ["BatchProducer", "BatchWriter", "Place", "Sent", "acknowledged", "failure"]

Sent = list[tuple[list[Outbound], "asyncio.Future[Any]"]]
"""The records handed to the producer, batch by batch, each batch with the future of its
delivery."""

Place = Callable[[str, bytes | None, int | None], int | None]
"""``place(topic, key, partition)``: where a record goes; None leaves it to the producer."""


class Builder(Protocol):
    """What the writer needs of aiokafka's ``BatchBuilder``."""

    def append(
        self, *, timestamp: int | None, key: bytes | None, value: bytes | None, headers: list[Any]
    ) -> object | None:
        """Add a record; None when the batch is full."""


class BatchProducer(Protocol):
    """What the writer needs of an ``AIOKafkaProducer``."""

    def create_batch(self) -> Builder:
        """An empty batch."""

    async def send_batch(self, batch: Any, topic: str, *, partition: int) -> asyncio.Future[Any]:
        """Queue a batch for one partition; the future resolves when it is on the broker."""

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: Any = None,
    ) -> asyncio.Future[Any]:
        """Queue one record; the future resolves when it is on the broker."""


@dataclass(slots=True)
class _Batch:
    builder: Builder
    records: list[Outbound] = field(default_factory=list)


@dataclass(slots=True)
class _Hops:
    """Hop records held for one topic-partition, to be written as one bundle."""

    records: list[Outbound] = field(default_factory=list)
    size: int = 0

    def record(self, partition: int) -> Outbound:
        """The bundle of the held hops (a lone hop as it is)."""
        return self.records[0] if len(self.records) == 1 else pack(self.records, partition)


class BatchWriter:
    """Collects outbound records into batches until :meth:`send`; keeps each partition's order.

    ``bundle`` is the most hop records written as one bundle (1: each on its own).
    """

    def __init__(self, producer: BatchProducer, place: Place, bundle: int = 1) -> None:
        self._producer = producer
        self._place = place
        self._bundle = bundle
        self._open: dict[tuple[str, int], _Batch] = {}
        self._full: list[tuple[tuple[str, int], _Batch]] = []
        self._hops: dict[tuple[str, int], _Hops] = {}
        self._unplaced: list[Outbound] = []
        self._unplaced_topics: set[str] = set()

    def add(self, out: Outbound) -> None:
        """Append ``out`` to the open batch of its topic-partition (a hop to its bundle)."""
        # once a topic has a record left to the producer, the later ones follow it there:
        # they are sent after the batches, so a placed one would overtake it
        unplaced = out.topic in self._unplaced_topics
        partition = None if unplaced else self._place(out.topic, out.key, out.partition)
        if partition is None:
            self._unplaced_topics.add(out.topic)
            self._unplaced.append(out)
        elif out.kind == "hop" and self._bundle > 1:
            self._hold((out.topic, partition), out)
        else:
            self._write((out.topic, partition), out)

    def _hold(self, tp: tuple[str, int], hop: Outbound) -> None:
        """Add ``hop`` to its partition's bundle; write the bundle first if it is full."""
        size = framed_size(hop)
        held = self._hops.get(tp)
        if held is None:
            held = self._hops[tp] = _Hops()
        elif len(held.records) >= self._bundle or held.size + size > BUNDLE_BYTES:
            self._write(tp, held.record(tp[1]))
            held = self._hops[tp] = _Hops()
        held.records.append(hop)
        held.size += size

    def _write(self, tp: tuple[str, int], out: Outbound) -> None:
        batch = self._open.get(tp)
        if batch is None:
            batch = self._open[tp] = _Batch(self._producer.create_batch())
        if not self._append(batch, out):  # full: it is sent as it is, a new one takes the record
            self._full.append((tp, batch))
            batch = self._open[tp] = _Batch(self._producer.create_batch())
            self._append(batch, out)  # the first record always fits
        batch.records.append(out)

    async def send(self) -> Sent:
        """Queue every batch with the producer; each comes back with its delivery."""
        for tp, held in self._hops.items():
            self._write(tp, held.record(tp[1]))
        self._hops = {}
        ready = [*self._full, *self._open.items()]
        unplaced = self._unplaced
        self._full, self._open, self._unplaced = [], {}, []
        self._unplaced_topics.clear()
        sent: Sent = []
        for (topic, partition), batch in ready:
            delivery = await self._producer.send_batch(batch.builder, topic, partition=partition)
            sent.append((batch.records, delivery))
        for out in unplaced:
            delivery = await self._producer.send(
                out.topic, out.value, key=out.key, partition=out.partition, headers=[*out.headers]
            )
            sent.append(([out], delivery))
        return sent

    @staticmethod
    def _append(batch: _Batch, out: Outbound) -> bool:
        added = batch.builder.append(
            timestamp=None, key=out.key, value=out.value, headers=list(out.headers)
        )
        return added is not None


async def acknowledged(sent: Sent) -> None:
    """Wait until the broker has acknowledged or refused every record of ``sent``."""
    pending = [fut for _, fut in sent if not fut.done()]
    if pending:
        await asyncio.wait(pending)


def failure(fut: asyncio.Future[Any]) -> BaseException | None:
    """Why ``fut`` did not succeed (None if it did)."""
    if not fut.done():
        return RuntimeError("not acknowledged")
    if fut.cancelled():
        return asyncio.CancelledError()
    exc: BaseException | None = fut.exception()
    return exc
