"""Fakes of aiokafka's producer and batches, and of a transactional broker, for the worker's unit
tests."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiokafka.errors import KafkaTimeoutError

__all__ = [
    "FakeBatch",
    "FakeProducer",
    "FakeTransactionalProducer",
    "TransactionalBroker",
]


@dataclass
class FakeBatch:
    """aiokafka's BatchBuilder, holding at most ``capacity`` records."""

    capacity: int
    records: list[tuple[bytes | None, bytes | None]] = field(default_factory=list)

    def append(
        self, *, timestamp: int | None, key: bytes | None, value: bytes | None, headers: Any
    ) -> object | None:
        if len(self.records) >= self.capacity:
            return None
        self.records.append((key, value))
        return object()


@dataclass
class FakeProducer:
    """Keeps what it was sent; the broker acknowledges each batch a moment later, or refuses
    it when its topic is in ``refuse`` (``refuse_times`` batches in all)."""

    events: list[str]
    refuse: set[str] = field(default_factory=set)
    refuse_times: int = 1
    refuse_with: type[Exception] = KafkaTimeoutError
    batch_capacity: int = 1000
    delivered: list[tuple[str, bytes | None, bytes | None]] = field(default_factory=list)
    partitions: list[tuple[str, int | None]] = field(default_factory=list)
    hold: asyncio.Event | None = None  # when set, the broker acknowledges once it is open

    def create_batch(self) -> FakeBatch:
        return FakeBatch(self.batch_capacity)

    async def send_batch(self, batch: FakeBatch, topic: str, *, partition: int) -> Any:
        self.partitions.extend((topic, partition) for _ in batch.records)
        return self._later(topic, batch.records)

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: Any = None,
    ) -> Any:
        self.partitions.append((topic, partition))
        return self._later(topic, [(key, value)])

    def _later(self, topic: str, records: list[tuple[bytes | None, bytes | None]]) -> Any:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        if self.hold is None:
            loop.call_later(0.001, self._acknowledge, fut, topic, records)
        else:
            hold = self.hold
            task = loop.create_task(hold.wait())
            task.add_done_callback(lambda _: self._acknowledge(fut, topic, records))
        return fut

    def _acknowledge(
        self,
        fut: asyncio.Future[None],
        topic: str,
        records: list[tuple[bytes | None, bytes | None]],
    ) -> None:
        if topic in self.refuse and self.refuse_times > 0:
            self.refuse_times -= 1
            fut.set_exception(self.refuse_with())
        else:
            self.delivered.extend((topic, key, value) for key, value in records)
            fut.set_result(None)

    def on(self, topic: str) -> list[dict[str, Any]]:
        return [json.loads(v or b"null") for t, _, v in self.delivered if t == topic]


@dataclass
class TransactionalBroker:
    """The broker as transactions show it: what a ``read_committed`` reader sees, the offsets
    committed per group, and every transactional producer started, in order. The first
    ``refuse_times`` batches to a topic in ``refuse`` are refused (``refuse_with``)."""

    events: list[str] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    refuse_times: int = 1
    refuse_with: type[Exception] = KafkaTimeoutError
    visible: list[tuple[str, bytes | None, bytes | None]] = field(default_factory=list)
    offsets: dict[str, dict[Any, int]] = field(default_factory=dict)
    producers: list[FakeTransactionalProducer] = field(default_factory=list)

    def producer(self) -> FakeTransactionalProducer:
        """A new transactional producer on this broker."""
        made = FakeTransactionalProducer(self)
        self.producers.append(made)
        return made

    def on(self, topic: str) -> list[dict[str, Any]]:
        """The committed records of ``topic``, decoded."""
        return [json.loads(v or b"null") for t, _, v in self.visible if t == topic]


@dataclass
class FakeTransactionalProducer:
    """aiokafka's transactional producer: records are visible once their transaction commits."""

    broker: TransactionalBroker
    started: bool = False
    in_transaction: bool = False
    pending: list[tuple[str, bytes | None, bytes | None]] = field(default_factory=list)
    pending_offsets: dict[str, dict[Any, int]] = field(default_factory=dict)

    async def start(self) -> None:
        self.started = True
        self.broker.events.append(f"start producer {len(self.broker.producers)}")

    async def stop(self) -> None:
        self.started = False

    async def begin_transaction(self) -> None:
        assert self.started, "begin before start"
        assert not self.in_transaction, "begin while a transaction is open"
        self.in_transaction = True
        self.broker.events.append("begin")

    async def commit_transaction(self) -> None:
        assert self.in_transaction, "commit outside a transaction"
        self.broker.visible += self.pending
        for group, offsets in self.pending_offsets.items():
            self.broker.offsets.setdefault(group, {}).update(offsets)
        self._end("commit")

    async def abort_transaction(self) -> None:
        assert self.in_transaction, "abort outside a transaction"
        self._end("abort")

    def _end(self, how: str) -> None:
        self.pending, self.pending_offsets, self.in_transaction = [], {}, False
        self.broker.events.append(how)

    async def send_offsets_to_transaction(self, offsets: dict[Any, int], group_id: str) -> None:
        assert self.in_transaction, "offsets outside a transaction"
        self.pending_offsets.setdefault(group_id, {}).update(offsets)

    def create_batch(self) -> FakeBatch:
        return FakeBatch(1000)

    async def send_batch(self, batch: FakeBatch, topic: str, *, partition: int) -> Any:
        return self._write(topic, batch.records)

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: Any = None,
    ) -> Any:
        return self._write(topic, [(key, value)])

    def _write(self, topic: str, records: list[tuple[bytes | None, bytes | None]]) -> Any:
        assert self.in_transaction, f"a write to {topic} outside a transaction"
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        broker = self.broker
        if topic in broker.refuse and broker.refuse_times > 0:
            broker.refuse_times -= 1
            fut.set_exception(broker.refuse_with())
        else:
            self.pending.extend((topic, key, value) for key, value in records)
            broker.events.append(f"write {topic}")
            fut.set_result(None)
        return fut
