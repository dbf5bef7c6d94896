"""Records written into aiokafka's own batches read back unchanged, in order, per partition."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch

from packetflow.records import Outbound
from packetflow.worker.batches import BatchWriter


@dataclass
class Broker:
    """Builds each batch submitted, as aiokafka's sender would, and reads it back."""

    batch_bytes: int = 16_384
    batches: list[tuple[str, int, list[Any]]] = field(default_factory=list)

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(self.batch_bytes, 0)

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> Any:
        built = DefaultRecordBatch(bytes(batch._build()))
        self.batches.append((topic, partition, list(built)))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def send(self, topic: str, value: bytes | None = None, **kw: Any) -> Any:
        raise AssertionError("every record here has a partition")


def record(n: int, topic: str = "t.responses", value: bytes | None = None) -> Outbound:
    headers = (("content-type", b"application/json"), ("traceparent", f"00-{n}".encode()))
    return Outbound(topic, f"k{n}".encode(), value or f"v{n}".encode(), headers)


async def test_key_value_and_headers_survive_the_batch() -> None:
    broker = Broker()
    writer = BatchWriter(broker, lambda topic, key, partition: 3)
    writer.add(record(1))
    writer.add(Outbound("t.audit", None, b"audit", ()))
    sent = await writer.send()
    assert [[out.topic for out in records] for records, _ in sent] == [["t.responses"], ["t.audit"]]
    [(topic, partition, [read]), (_, _, [audit])] = broker.batches
    assert (topic, partition) == ("t.responses", 3)
    assert (read.key, read.value) == (b"k1", b"v1")
    assert list(read.headers) == [("content-type", b"application/json"), ("traceparent", b"00-1")]
    assert (audit.key, audit.value) == (None, b"audit")


async def test_a_full_batch_is_sent_first_and_order_is_kept() -> None:
    broker = Broker(batch_bytes=2_000)
    writer = BatchWriter(broker, lambda topic, key, partition: 0)
    for n in range(10):
        writer.add(record(n, value=bytes(500)))  # four fit in 2,000 bytes
    sent = await writer.send()
    sizes = [len(records) for _, _, records in broker.batches]
    assert len(sizes) > 1
    assert sum(sizes) == 10
    keys = [r.key for _, _, records in broker.batches for r in records]
    assert keys == [f"k{n}".encode() for n in range(10)]
    assert [out.key for records, _ in sent for out in records] == keys


async def test_a_record_larger_than_a_batch_still_goes_alone() -> None:
    broker = Broker(batch_bytes=1_000)
    writer = BatchWriter(broker, lambda topic, key, partition: 0)
    writer.add(record(1))
    writer.add(record(2, value=bytes(5_000)))
    await writer.send()
    assert [[r.key for r in records] for _, _, records in broker.batches] == [[b"k1"], [b"k2"]]


async def test_sending_twice_sends_nothing_twice() -> None:
    broker = Broker()
    writer = BatchWriter(broker, lambda topic, key, partition: 0)
    writer.add(record(1))
    await writer.send()
    assert await writer.send() == []
    assert len(broker.batches) == 1


async def test_once_a_topic_is_left_to_the_producer_its_later_records_follow_in_order() -> None:
    order: list[bytes | None] = []
    known = {"t.responses": False}

    class Producer(Broker):
        async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> Any:
            done = await super().send_batch(batch, topic, partition=partition)
            order.extend(r.key for r in self.batches[-1][2])
            return done

        async def send(self, topic: str, value: bytes | None = None, **kw: Any) -> Any:
            order.append(kw["key"])
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done

    def place(topic: str, key: bytes | None, partition: int | None) -> int | None:
        return 0 if known[topic] else None

    writer = BatchWriter(Producer(), place)
    writer.add(record(1))  # metadata not known yet: left to the producer
    known["t.responses"] = True  # a metadata refresh lands in between
    writer.add(record(2))
    await writer.send()
    assert order == [b"k1", b"k2"]
