"""Fakes of aiokafka's producer and batches for the worker's unit tests."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiokafka.errors import KafkaTimeoutError

__all__ = ["FakeBatch", "FakeProducer"]


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
            fut.set_exception(KafkaTimeoutError())
        else:
            self.delivered.extend((topic, key, value) for key, value in records)
            fut.set_result(None)

    def on(self, topic: str) -> list[dict[str, Any]]:
        return [json.loads(v or b"null") for t, _, v in self.delivered if t == topic]
