"""Records written into aiokafka's own batches read back unchanged, in order, per partition."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka.errors import KafkaTimeoutError
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch

from packetflow.hops.bundle import BUNDLE_BYTES, is_bundle, unpack
from packetflow.kafka.batches import BatchWriter
from packetflow.kafka.linger import HeldHops
from packetflow.records import Outbound, RawRecord


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


def hop(n: int, key: str, topic: str = "t.reactor.counter", size: int = 10) -> Outbound:
    headers = (("packetflow-principal", b"{}"),)
    return Outbound(topic, key.encode(), f"{n:0{size}d}".encode(), headers, kind="hop")


def by_key(topic: str, key: bytes | None, partition: int | None) -> int:
    return partition if partition is not None else int((key or b"0")[-1:]) % 2


def hops_read(broker: Broker) -> list[tuple[int, list[bytes | None]]]:
    """Each record read back as (partition, the values it carries: one, or a bundle's)."""
    out = []
    for topic, partition, records in broker.batches:
        for read in records:
            raw = RawRecord(topic, partition, 0, read.key, read.value, tuple(read.headers))
            hops = unpack(raw) if is_bundle(raw) else [raw]
            out.append((partition, [h.value for h in hops]))
    return out


async def test_hops_of_a_partition_travel_as_one_bundle_in_order() -> None:
    broker = Broker()
    writer = BatchWriter(broker, by_key, HeldHops(100))
    for n in range(6):
        writer.add(hop(n, key=f"k{n}"))  # k0, k2, k4 -> partition 0; k1, k3, k5 -> 1
    writer.add(record(9))  # a response: never bundled
    sent = await writer.send()
    assert sorted(hops_read(broker)) == [
        (0, [b"0000000000", b"0000000002", b"0000000004"]),
        (1, [b"0000000001", b"0000000003", b"0000000005"]),
        (1, [b"v9"]),
    ]
    assert sorted(len(records) for records, _ in sent) == [1, 1, 1]


async def test_a_lone_hop_is_written_as_it_is() -> None:
    broker = Broker()
    writer = BatchWriter(broker, by_key, HeldHops(100))
    writer.add(hop(1, key="k1"))
    await writer.send()
    [(_, _, [read])] = broker.batches
    assert (read.key, read.value) == (b"k1", b"0000000001")


async def test_a_full_bundle_is_closed_and_the_next_one_keeps_the_order() -> None:
    broker = Broker(batch_bytes=1_000_000)
    writer = BatchWriter(broker, lambda topic, key, partition: 0, HeldHops(3))
    for n in range(7):
        writer.add(hop(n, key="k"))
    await writer.send()
    assert [len(values) for _, values in hops_read(broker)] == [3, 3, 1]
    assert [v for _, values in hops_read(broker) for v in values] == [
        f"{n:010d}".encode() for n in range(7)
    ]


async def test_a_bundle_stays_under_its_byte_limit() -> None:
    broker = Broker(batch_bytes=2 * BUNDLE_BYTES)
    writer = BatchWriter(broker, lambda topic, key, partition: 0, HeldHops(1_000))
    size = BUNDLE_BYTES // 5
    for n in range(12):
        writer.add(hop(n, key="k", size=size))
    await writer.send()
    counts = [len(values) for _, values in hops_read(broker)]
    assert sum(counts) == 12
    assert max(counts) == 4  # a fifth of the limit each, with framing: four fit
    assert all(len(read.value or b"") <= BUNDLE_BYTES for _, _, rs in broker.batches for read in rs)


async def test_bundle_one_writes_every_hop_alone() -> None:
    broker = Broker()
    writer = BatchWriter(broker, lambda topic, key, partition: 0)
    for n in range(3):
        writer.add(hop(n, key="k"))
    await writer.send()
    assert [values for _, values in hops_read(broker)] == [
        [b"0000000000"],
        [b"0000000001"],
        [b"0000000002"],
    ]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Refusing(Broker):
    """Refuses every batch of ``topic``."""

    topic: str = "t.reactor.counter"

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> Any:
        if topic != self.topic:
            return await super().send_batch(batch, topic, partition=partition)
        refused: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        refused.set_exception(KafkaTimeoutError())
        return refused


async def test_a_young_bundle_waits_for_the_hops_of_later_batches() -> None:
    broker, clock = Broker(), Clock()
    hops = HeldHops(100, linger=0.010, clock=clock)
    first = BatchWriter(broker, by_key, hops)
    first.add(hop(1, key="k0"))
    first.add(record(1))
    sent_first = await first.send()
    assert hops_read(broker) == [(1, [b"v1"])]  # the response goes now, the hop waits
    [(held, written)] = [(rs, fut) for rs, fut in sent_first if rs[0].kind == "hop"]
    assert [h.value for h in held] == [b"0000000001"]
    assert not written.done()

    clock.now += 0.010
    second = BatchWriter(broker, by_key, hops)
    second.add(hop(2, key="k0"))
    await second.send()
    assert hops_read(broker)[1:] == [(0, [b"0000000001", b"0000000002"])]
    await written  # the first batch's hop is delivered with the second batch's bundle
    assert len(hops) == 0


async def test_a_refused_bundle_fails_every_batch_whose_hops_it_held() -> None:
    broker, clock = Refusing(), Clock()
    hops = HeldHops(100, linger=0.010, clock=clock)
    first = BatchWriter(broker, by_key, hops)
    first.add(hop(1, key="k0"))
    [(_, written)] = await first.send()
    clock.now += 0.010
    second = BatchWriter(broker, by_key, hops)
    second.add(hop(2, key="k0"))
    [(records, delivery)] = await second.send()
    with pytest.raises(KafkaTimeoutError):
        await delivery
    with pytest.raises(KafkaTimeoutError):
        await written
    assert [r.kind for r in records] == ["hop"]  # the bundle, reported by the second batch


async def test_every_bundle_can_be_written_before_it_is_due() -> None:
    broker = Broker()
    hops = HeldHops(100, linger=60.0, clock=Clock())
    writer = BatchWriter(broker, by_key, hops)
    writer.add(hop(1, key="k0"))
    writer.add(hop(2, key="k1"))
    await writer.send(every_bundle=True)
    assert sorted(hops_read(broker)) == [(0, [b"0000000001"]), (1, [b"0000000002"])]
    assert len(hops) == 0
