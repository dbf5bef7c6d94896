"""Outbound records written straight into aiokafka batches, one per topic-partition.

Handing aiokafka one record at a time costs a coroutine, a future, a key hash
and an accumulator lookup per record. The request loop instead appends each
record to the open batch of its topic-partition (aiokafka's ``BatchBuilder``,
records encoded by its C extension) and submits every batch at once; a
record is delivered when its batch is. A record whose partition cannot be
chosen yet (its topic's metadata is not known) goes through ``send()``.

Hop records for the same partition of an internal topic are held and written
as bundles (:mod:`packetflow.hops.bundle`, :mod:`.linger`): the Faust
agent reading that topic then pays its per-record cost once per bundle.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from packetflow.kafka.linger import HeldHops, HopBundle
from packetflow.records import Outbound

__all__ = [
    "BatchProducer",
    "BatchWriter",
    "Place",
    "Sent",
    "acknowledged",
    "failure",
    "write_all",
]

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
    bundles: list[asyncio.Future[None]] = field(default_factory=list)  # held ones written here


class BatchWriter:
    """Collects outbound records into batches until :meth:`send`; keeps each partition's order.

    Hop records go to ``hops`` (:mod:`.linger`) and are written as bundles when
    those are due; without it, each hop is written on its own.
    """

    def __init__(self, producer: BatchProducer, place: Place, hops: HeldHops | None = None) -> None:
        self._producer = producer
        self._place = place
        self._hops = hops
        self._open: dict[tuple[str, int], _Batch] = {}
        self._full: list[tuple[tuple[str, int], _Batch]] = []
        self._mine: dict[tuple[str, int], tuple[HopBundle, list[Outbound]]] = {}
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
        elif out.kind == "hop" and self._hops is not None:
            self._hold((out.topic, partition), out, self._hops)
        else:
            self._write((out.topic, partition), out)

    def _hold(self, tp: tuple[str, int], hop: Outbound, hops: HeldHops) -> None:
        """Add ``hop`` to its partition's bundle; write that bundle first if it is full."""
        closed = hops.add(tp, hop)
        if closed is not None:
            self._write_bundle(tp, closed)
        bundle = hops.held(tp)
        assert bundle is not None
        mine = self._mine.get(tp)
        if mine is None or mine[0] is not bundle:
            self._mine[tp] = (bundle, [hop])
        else:
            mine[1].append(hop)

    def _write_bundle(self, tp: tuple[str, int], bundle: HopBundle) -> None:
        batch = self._write(tp, bundle.record(tp[1]))
        if bundle.written is not None:  # hops of an earlier batch wait for it
            batch.bundles.append(bundle.written)

    def _write(self, tp: tuple[str, int], out: Outbound) -> _Batch:
        batch = self._open.get(tp)
        if batch is None:
            batch = self._open[tp] = _Batch(self._producer.create_batch())
        if not self._append(batch, out):  # full: it is sent as it is, a new one takes the record
            self._full.append((tp, batch))
            batch = self._open[tp] = _Batch(self._producer.create_batch())
            self._append(batch, out)  # the first record always fits
        batch.records.append(out)
        return batch

    async def send(self, every_bundle: bool = False) -> Sent:
        """Queue every batch with the producer; each comes back with its delivery.

        Bundles not yet due (``every_bundle``: none) stay held; this writer's
        hops in them come back with the delivery of their bundle, to come.
        """
        if self._hops is not None:
            for tp, bundle in self._hops.due(every_bundle):
                self._write_bundle(tp, bundle)
        ready = [*self._full, *self._open.items()]
        unplaced = self._unplaced
        self._full, self._open, self._unplaced = [], {}, []
        self._unplaced_topics.clear()
        sent: Sent = []
        for (topic, partition), batch in ready:
            delivery = await self._producer.send_batch(batch.builder, topic, partition=partition)
            for written in batch.bundles:
                delivery.add_done_callback(functools.partial(_resolve, written))
            sent.append((batch.records, delivery))
        for out in unplaced:
            delivery = await self._producer.send(
                out.topic, out.value, key=out.key, partition=out.partition, headers=[*out.headers]
            )
            sent.append(([out], delivery))
        if self._hops is not None:
            for tp, (bundle, hops) in self._mine.items():
                if self._hops.held(tp) is bundle:
                    sent.append((hops, bundle.delivery()))
        self._mine = {}
        return sent

    @staticmethod
    def _append(batch: _Batch, out: Outbound) -> bool:
        added = batch.builder.append(
            timestamp=None, key=out.key, value=out.value, headers=list(out.headers)
        )
        return added is not None


async def write_all(
    producer: BatchProducer, place: Place, records: Sequence[Outbound], bundle: int = 1
) -> Sent:
    """Queue ``records`` (hops in bundles of up to ``bundle``), each partition's in order."""
    writer = BatchWriter(producer, place, HeldHops(bundle) if bundle > 1 else None)
    for record in records:
        writer.add(record)
    return await writer.send()


async def acknowledged(sent: Sent) -> None:
    """Wait until the broker has acknowledged or refused every record of ``sent``."""
    pending = [fut for _, fut in sent if not fut.done()]
    if pending:
        await asyncio.wait(pending)


def _resolve(written: asyncio.Future[None], delivery: asyncio.Future[Any]) -> None:
    """Pass a batch's delivery on to a held bundle written in it."""
    if written.done():
        return
    exc = failure(delivery)
    if exc is None:
        written.set_result(None)
    else:
        written.set_exception(exc)


def failure(fut: asyncio.Future[Any]) -> BaseException | None:
    """Why ``fut`` did not succeed (None if it did)."""
    if not fut.done():
        return RuntimeError("not acknowledged")
    if fut.cancelled():
        return asyncio.CancelledError()
    exc: BaseException | None = fut.exception()
    return exc
