"""The request loop's hop bundles across batches, and its backpressure on small batches."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.structs import TopicPartition

from packetflow.hops.bundle import unpack
from packetflow.ingress.loop import IngressConfig
from packetflow.pipeline.refused import UndeliveredRecord
from packetflow.records import Outbound, RawRecord
from tests.packetflow.ingress.test_loop import TOPICS, Clock, Loop, batch, request

HOPS = "t.reactor.r"
LINGER = IngressConfig(batch=100, bundle=100, linger_ms=10)


def hopping(loop: Loop, respond: bool = False) -> None:
    """Make every request hop to partition 0 of the reactor topic (and be answered too)."""

    async def handle(record: RawRecord) -> list[Outbound]:
        rid = (record.value or b"")[-12:]
        out = [Outbound(HOPS, b"k", rid, (), partition=0, kind="hop")]
        if respond:
            out.append(Outbound(TOPICS.responses, rid, b"{}", (), kind="capability_response"))
        return out

    loop.ingress._handle = handle


async def test_hops_of_later_batches_join_the_bundle_until_it_has_lingered() -> None:
    clock = Clock()
    loop = Loop(batch([request("a")]), batch([request("b")]), config=LINGER, clock=clock)
    hopping(loop)
    await loop.ingress.step()
    clock.now += 0.004
    await loop.ingress.step()
    assert loop.consumer.timeouts == [200, 6]  # the loop wakes when the bundle is due
    assert loop.producer.partitions == []  # nothing written yet
    clock.now += 0.006
    assert await loop.ingress.step() == 0  # nothing fetched: the due bundle is written
    await loop.ingress.drain()
    [(topic, key, value)] = [d for d in loop.producer.delivered if d[0] == HOPS]
    hops = unpack(RawRecord(topic, 0, 0, key, value, (("packetflow-bundle", b"1"),)))
    assert [h.value for h in hops] == [request("a")[-12:], request("b")[-12:]]
    assert {tp: o for c in loop.consumer.commits for tp, o in c.items()} == {
        TopicPartition(TOPICS.requests, 0): 11
    }


async def test_a_held_bundle_the_broker_refuses_leaves_its_batches_uncommitted() -> None:
    clock = Clock()
    loop = Loop(batch([request("a")]), batch([request("b")]), config=LINGER, clock=clock)
    hopping(loop, respond=True)
    loop.producer.refuse = {HOPS}
    await loop.ingress.step()
    await loop.ingress.step()
    clock.now += 0.010
    await loop.ingress.step()  # writes the bundle of "a" and "b": refused
    with pytest.raises(UndeliveredRecord):
        await loop.ingress.drain()
    assert len(loop.producer.on(TOPICS.responses)) == 2  # answered, yet neither committed
    assert loop.consumer.commits == []


async def test_draining_writes_every_held_bundle_and_commits() -> None:
    slow = IngressConfig(batch=100, bundle=100, linger_ms=60_000)
    loop = Loop(batch([request("a")]), config=slow)
    hopping(loop)
    await loop.ingress.step()
    await asyncio.wait_for(loop.ingress.drain(), 1)  # as a rebalance does: nothing waits
    assert [d[2] for d in loop.producer.delivered if d[0] == HOPS] == [request("a")[-12:]]
    assert loop.consumer.commits == [{TopicPartition(TOPICS.requests, 0): 11}]


async def test_small_batches_do_not_wait_for_the_broker_until_they_add_up() -> None:
    small = [batch([request(f"r{n}")]) for n in range(5)]
    loop = Loop(*small, config=IngressConfig(batch=3))
    loop.producer.hold = asyncio.Event()  # the broker acknowledges nothing yet
    for _ in range(5):  # a sixth request would pass two batches' worth: five do not
        stepped = await asyncio.wait_for(loop.ingress.step(), 1)
        assert stepped == 1
    loop.producer.hold.set()
    await loop.ingress.drain()
    assert len(loop.producer.on(TOPICS.responses)) == 5
