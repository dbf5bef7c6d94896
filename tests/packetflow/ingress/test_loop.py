"""The request loop: answers are delivered before offsets are committed, and nothing is lost."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.structs import TopicPartition

from packetflow import CallContext, Registry, capability
from packetflow.ingress.loop import Ingress, IngressConfig, WaitForBatch
from packetflow.kafka.batches import Place
from packetflow.kafka.partition import Partitioner
from packetflow.metrics import Metrics
from packetflow.pipeline.decode import Limits
from packetflow.pipeline.process import Processor
from packetflow.pipeline.publish import Publisher
from packetflow.pipeline.refused import UndeliveredRecord, replacer
from packetflow.records import Outbound, RawRecord
from packetflow.topics import TopicNames
from tests.packetflow.worker.fakes import FakeProducer

TOPICS = TopicNames("t")
REQUESTS_0 = TopicPartition(TOPICS.requests, 0)


@capability(intent="Echo")
def echo(payload: Any, ctx: CallContext) -> dict[str, Any]:
    return {"echo": payload}


@dataclass
class Message:
    """What aiokafka's ConsumerRecord offers the ingress."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()
    timestamp: int = 1_700_000_000_000


@dataclass
class FakeConsumer:
    batches: list[dict[TopicPartition, list[Message]]]
    producer: FakeProducer
    commits: list[dict[TopicPartition, int]] = field(default_factory=list)
    commit_error: Exception | None = None
    revoked: set[int] = field(default_factory=set)  # partitions of the requests topic
    gate: asyncio.Event | None = None  # when set, each commit waits until it is open

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(TOPICS.requests, p) for p in range(8)} - {
            TopicPartition(TOPICS.requests, p) for p in self.revoked
        }

    timeouts: list[int] = field(default_factory=list)

    async def getmany(
        self, *partitions: Any, timeout_ms: int = 0, max_records: int | None = None
    ) -> Mapping[Any, Sequence[Any]]:
        self.timeouts.append(timeout_ms)
        return self.batches.pop(0) if self.batches else {}

    async def commit(self, offsets: Mapping[Any, int] | None = None) -> None:
        if self.gate is not None:
            await self.gate.wait()
        answered = sorted(str(r["correlation_id"]) for r in self.producer.on(TOPICS.audit))
        self.producer.events.append(f"commit after audits of {answered}")
        if self.commit_error is not None:
            raise self.commit_error
        if any(tp not in self.assignment() for tp in offsets or {}):
            raise IllegalStateError("Partition is not assigned")  # as aiokafka does
        self.commits.append(dict(offsets or {}))


def request(rid: str, payload: Any = None) -> bytes:
    doc = {
        "version": "1.0",
        "type": "capability_request",
        "id": rid,
        "capability_id": "echo",
        "payload": payload or {"n": rid},
    }
    return json.dumps(doc).encode()


def batch(*partitions: list[bytes | None]) -> dict[TopicPartition, list[Message]]:
    return {
        TopicPartition(TOPICS.requests, p): [
            Message(TOPICS.requests, p, 10 + i, None, v) for i, v in enumerate(values)
        ]
        for p, values in enumerate(partitions)
    }


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Loop:
    """An ingress on fakes, with a real processor."""

    def __init__(
        self,
        *batches: dict[TopicPartition, list[Message]],
        concurrency: int = 8,
        place: Place | None = None,
        config: IngressConfig | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.events: list[str] = []
        self.producer = FakeProducer(self.events)
        self.consumer = FakeConsumer(list(batches), self.producer)
        self.publisher = Publisher(TOPICS, "w1", 8)
        self.processor = Processor(Registry([echo]), self.publisher, Metrics(), Limits())
        self.ingress = Ingress(
            self.consumer,
            self.producer,
            self.processor.handle,
            replacer(self.publisher, self.processor.metrics),
            config or IngressConfig(batch=100, concurrency=concurrency),
            place or Partitioner(lambda topic: 8),
            clock or Clock(),
            sleep,
        )


async def test_bad_records_are_dead_lettered_and_the_rest_answered_and_committed() -> None:
    loop = Loop(batch([b"{not json", request("a"), None], [b"[]", request("b")]))
    assert await loop.ingress.step() == 5
    await loop.ingress.drain()
    answered = sorted(r["correlation_id"] for r in loop.producer.on(TOPICS.responses))
    assert answered == ["a", "b"]
    dead = [v for t, _, v in loop.producer.delivered if t == TOPICS.dlq]
    assert dead == [b"{not json", None, b"[]"]  # the originals, unchanged
    assert len(loop.producer.on(TOPICS.audit)) == 5
    assert loop.consumer.commits == [
        {TopicPartition(TOPICS.requests, 0): 13, TopicPartition(TOPICS.requests, 1): 12}
    ]


async def test_offsets_are_committed_only_after_every_answer_is_delivered() -> None:
    loop = Loop(batch([request("a"), request("b")]), batch([request("c")]))
    await loop.ingress.run(lambda: not loop.consumer.batches)
    assert loop.events[0] in (
        "commit after audits of ['a', 'b']",
        "commit after audits of ['a', 'b', 'c']",
    )
    assert loop.events[1] == "commit after audits of ['a', 'b', 'c']"
    assert len(loop.producer.delivered) == 6  # three responses, three audit records
    assert loop.consumer.commits == [
        {TopicPartition(TOPICS.requests, 0): 12},
        {TopicPartition(TOPICS.requests, 0): 11},
    ]


async def test_the_next_batch_is_answered_while_the_previous_one_waits_for_its_commit() -> None:
    loop = Loop(batch([request("a")]), batch([], [request("b")]))
    loop.consumer.gate = asyncio.Event()  # the group coordinator is slow to commit
    assert await loop.ingress.step() == 1
    assert await loop.ingress.step() == 1  # answered although "a" is not committed yet
    assert loop.consumer.commits == []
    loop.consumer.gate.set()
    await loop.ingress.drain()
    assert loop.consumer.commits == [
        {TopicPartition(TOPICS.requests, 0): 11},
        {TopicPartition(TOPICS.requests, 1): 11},
    ]


async def test_batches_commit_in_order_even_when_a_later_one_is_acknowledged_first() -> None:
    loop = Loop(batch([request("a")]), batch([], [request("b")]))
    loop.producer.refuse = {TOPICS.responses}  # "a"'s answer takes a second, slower round
    await loop.ingress.step()
    await loop.ingress.step()
    await loop.ingress.drain()
    assert loop.consumer.commits == [
        {TopicPartition(TOPICS.requests, 0): 11},
        {TopicPartition(TOPICS.requests, 1): 11},
    ]


async def test_no_more_than_two_full_batches_of_requests_wait_for_the_broker() -> None:
    full = [batch([request("a"), request("b")]), batch([request("c"), request("d")])]
    loop = Loop(*full, batch([request("e")]), config=IngressConfig(batch=2))
    hold = loop.producer.hold = asyncio.Event()  # the broker acknowledges nothing yet
    handled_while_held: list[bool] = []
    handle = loop.processor.handle

    async def watched(record: RawRecord) -> list[Outbound]:
        handled_while_held.append(not hold.is_set())
        return await handle(record)

    loop.ingress._handle = watched
    await loop.ingress.step()
    await loop.ingress.step()
    third = asyncio.ensure_future(loop.ingress.step())
    asyncio.get_running_loop().call_later(0.05, hold.set)  # a third batch must wait for it
    assert await third == 1
    assert handled_while_held == [True, True, True, True, False]
    await loop.ingress.drain()
    assert len(loop.producer.on(TOPICS.responses)) == 5


async def test_batches_acknowledged_during_a_commit_share_the_next_one() -> None:
    loop = Loop(batch([request("a")]), batch([], [request("b")]), batch([], [], [request("c")]))
    gate = loop.consumer.gate = asyncio.Event()
    for _ in range(3):
        await loop.ingress.step()
    await loop.ingress.acknowledged()  # while "a" is still being committed
    gate.set()
    await loop.ingress.drain()
    p0, p1, p2 = (TopicPartition(TOPICS.requests, p) for p in range(3))
    assert loop.consumer.commits[0] == {p0: 11}
    assert {tp: o for c in loop.consumer.commits for tp, o in c.items()} == {p0: 11, p1: 11, p2: 11}
    assert len(loop.consumer.commits) == 2


async def test_an_empty_poll_commits_nothing() -> None:
    loop = Loop()
    assert await loop.ingress.step() == 0
    assert loop.events == []


async def test_a_lost_audit_record_stops_the_loop_before_the_commit() -> None:
    loop = Loop(batch([request("a")]))
    loop.producer.refuse = {TOPICS.audit}
    await loop.ingress.step()
    with pytest.raises(UndeliveredRecord) as raised:
        await loop.ingress.drain()
    assert raised.value.record.topic == TOPICS.audit
    assert loop.consumer.commits == []


async def test_a_refused_response_is_replaced_by_an_error_answer_then_committed() -> None:
    loop = Loop(batch([request("a")]))
    loop.producer.refuse = {TOPICS.responses}
    await loop.ingress.step()
    await loop.ingress.drain()
    [error] = loop.producer.on(TOPICS.errors)
    assert error["correlation_id"] == "a"
    assert error["payload"]["error"]["type"] == "internal_error"
    assert "could not be delivered" in error["payload"]["error"]["message"]
    assert loop.consumer.commits == [{TopicPartition(TOPICS.requests, 0): 11}]


async def test_after_a_loss_no_later_batch_is_committed() -> None:
    full = [batch([request("a")]), batch([request("b")])]  # two full batches of one record
    loop = Loop(*full, batch([request("c")]), config=IngressConfig(batch=1))
    loop.producer.refuse = {TOPICS.audit}
    await loop.ingress.step()
    await loop.ingress.step()  # may be answered before "a"'s loss is known: it is not committed
    with pytest.raises(UndeliveredRecord):
        await loop.ingress.step()  # the loss is known before a third full batch starts
    with pytest.raises(UndeliveredRecord):
        await loop.ingress.drain()
    assert loop.consumer.commits == []
    assert "c" not in [r["correlation_id"] for r in loop.producer.on(TOPICS.responses)]


async def test_a_replacement_that_cannot_be_delivered_either_stops_the_loop() -> None:
    loop = Loop(batch([request("a")]))
    loop.producer.refuse, loop.producer.refuse_times = {TOPICS.responses, TOPICS.errors}, 2
    await loop.ingress.step()
    with pytest.raises(UndeliveredRecord):
        await loop.ingress.drain()
    assert loop.consumer.commits == []


@pytest.mark.parametrize(
    "refusal",
    [
        CommitFailedError("rebalanced"),
        IllegalStateError("Partition is not assigned"),  # revoked between answer and commit
    ],
)
async def test_a_commit_refused_after_a_rebalance_does_not_stop_the_loop(
    refusal: Exception,
) -> None:
    loop = Loop(batch([request("a")]), batch([request("b")]))
    loop.consumer.commit_error = refusal
    assert await loop.ingress.step() == 1
    await loop.ingress.drain()
    loop.consumer.commit_error = None
    assert await loop.ingress.step() == 1
    await loop.ingress.drain()
    assert loop.consumer.commits == [{TopicPartition(TOPICS.requests, 0): 11}]


async def test_records_of_partitions_revoked_after_the_fetch_are_left_to_their_new_owner() -> None:
    loop = Loop(batch([request("a")], [request("b")]))
    fetched = loop.consumer.getmany

    async def fetch_then_rebalance(*args: Any, **kwargs: Any) -> Mapping[Any, Sequence[Any]]:
        records = await fetched(*args, **kwargs)
        loop.consumer.revoked = {0}  # the rebalance lands between the fetch and the batch
        return records

    loop.consumer.getmany = fetch_then_rebalance  # type: ignore[method-assign]
    assert await loop.ingress.step() == 1
    await loop.ingress.drain()
    assert [r["correlation_id"] for r in loop.producer.on(TOPICS.responses)] == ["b"]
    assert loop.consumer.commits == [{TopicPartition(TOPICS.requests, 1): 11}]


async def test_a_batch_whose_partition_is_revoked_during_delivery_commits_the_others() -> None:
    loop = Loop(batch([request("a")], [request("b")]))
    assert await loop.ingress.step() == 2
    loop.consumer.revoked = {1}  # before the broker acknowledged the answers
    await loop.ingress.drain()
    answered = sorted(r["correlation_id"] for r in loop.producer.on(TOPICS.responses))
    assert answered == ["a", "b"]  # "b" is answered again by the new owner: at least once
    assert loop.consumer.commits == [{TopicPartition(TOPICS.requests, 0): 11}]


def raw(partition: int, offset: int) -> RawRecord:
    return RawRecord(TOPICS.requests, partition, offset, None, b"{}")


async def test_a_record_waiting_on_io_does_not_hold_up_the_next_ones() -> None:
    second_ran = asyncio.Event()
    running = peak = 0

    async def handle(record: RawRecord) -> list[Outbound]:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if record.offset == 0:
            await second_ran.wait()  # would never return if records ran one after the other
        else:
            second_ran.set()
            await asyncio.sleep(0.001)
        running -= 1
        return []

    loop = Loop()
    config = IngressConfig(concurrency=3)
    ingress = Ingress(
        loop.consumer, loop.producer, handle, replacer(loop.publisher, Metrics()), config
    )
    one_partition = {0: [raw(0, o) for o in range(10)]}
    await asyncio.wait_for(ingress.answer(one_partition), 5)
    assert peak == 3  # never more at once than PACKETFLOW_CONCURRENCY


async def test_records_that_never_wait_run_in_order_on_one_lane() -> None:
    seen: list[tuple[int, int]] = []

    async def handle(record: RawRecord) -> list[Outbound]:
        seen.append((record.partition, record.offset))
        return []

    loop = Loop()
    ingress = Ingress(loop.consumer, loop.producer, handle, replacer(loop.publisher, Metrics()))
    records = {p: [raw(p, o) for o in range(3)] for p in (0, 1)}
    await ingress.answer(records)
    assert seen == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]


async def test_a_loss_found_by_a_rebalance_still_stops_the_loop() -> None:
    loop = Loop(batch([request("a")]), batch([request("b")]))
    loop.producer.refuse = {TOPICS.audit}
    await loop.ingress.step()
    listener = WaitForBatch(loop.ingress)
    with pytest.raises(UndeliveredRecord):  # aiokafka logs what a listener raises, then goes on
        await listener.on_partitions_revoked({TopicPartition(TOPICS.requests, 0)})
    with pytest.raises(UndeliveredRecord):
        await loop.ingress.step()
    assert loop.consumer.commits == []


async def test_each_record_goes_to_the_partition_chosen_for_it() -> None:
    loop = Loop()
    asked: list[tuple[str, bytes | None, int | None]] = []

    def place(topic: str, key: bytes | None, partition: int | None) -> int:
        asked.append((topic, key, partition))
        return 7 if partition is None else partition

    ingress = Ingress(
        loop.consumer,
        loop.producer,
        loop.processor.handle,
        replacer(loop.publisher, Metrics()),
        None,
        place,
    )
    request_a = json.loads(request("a"))
    request_a["metadata"] = {"reply_partition": 2}
    await ingress.answer({0: [raw_value(json.dumps(request_a).encode())]})
    assert dict(loop.producer.partitions) == {TOPICS.responses: 2, TOPICS.audit: 7}
    assert asked == [(TOPICS.responses, b"a", 2), (TOPICS.audit, b"a", None)]


async def test_a_partitions_answers_keep_their_order_across_full_batches() -> None:
    requests = [request(f"r{n}") for n in range(7)]
    loop = Loop(batch(requests), place=lambda topic, key, partition: 0)
    loop.producer.batch_capacity = 2
    await loop.ingress.step()
    await loop.ingress.drain()
    answered = [r["correlation_id"] for r in loop.producer.on(TOPICS.responses)]
    assert answered == [f"r{n}" for n in range(7)]
    assert loop.consumer.commits == [{TopicPartition(TOPICS.requests, 0): 17}]


async def test_records_of_topics_without_metadata_are_sent_one_by_one_and_committed() -> None:
    loop = Loop(batch([request("a"), b"{oops"]), place=lambda topic, key, partition: None)
    await loop.ingress.step()
    await loop.ingress.drain()
    assert [r["correlation_id"] for r in loop.producer.on(TOPICS.responses)] == ["a"]
    assert [v for t, _, v in loop.producer.delivered if t == TOPICS.dlq] == [b"{oops"]
    assert {p for _, p in loop.producer.partitions} == {None}  # the producer partitions them
    assert loop.consumer.commits == [{TopicPartition(TOPICS.requests, 0): 12}]


def raw_value(value: bytes) -> RawRecord:
    return RawRecord(TOPICS.requests, 0, 0, None, value)


async def test_a_batch_fetched_before_a_rebalance_placed_its_partitions_is_not_answered() -> None:
    loop = Loop(batch([request("a")]), batch([request("a")]))
    placed: list[set[Any]] = []

    async def position(assigned: set[Any]) -> None:
        placed.append(assigned)  # the partitions are read again from their commit

    listener = WaitForBatch(loop.ingress, position)
    getmany = loop.consumer.getmany

    async def fetch_then_rebalance(*args: Any, **kwargs: Any) -> Mapping[Any, Sequence[Any]]:
        fetched = await getmany(*args, **kwargs)
        if len(placed) == 0:  # the rebalance lands between the fetch and its processing
            await listener.on_partitions_assigned({REQUESTS_0})
        return fetched

    loop.consumer.getmany = fetch_then_rebalance  # type: ignore[method-assign]
    assert await loop.ingress.step() == 0  # dropped: read again from where it is placed again
    assert placed == [{REQUESTS_0}, {REQUESTS_0}]  # aiokafka had moved past it
    assert await loop.ingress.step() == 1
    await loop.ingress.drain()
    assert [r["correlation_id"] for r in loop.producer.on(TOPICS.responses)] == ["a"]


async def test_partitions_that_cannot_be_placed_after_a_rebalance_stop_the_loop() -> None:
    loop = Loop(batch([request("a")]))

    async def position(assigned: set[Any]) -> None:
        raise RuntimeError("the broker never named the commits")

    await WaitForBatch(loop.ingress, position).on_partitions_assigned({REQUESTS_0})
    with pytest.raises(RuntimeError, match="never named"):
        await loop.ingress.step()
    assert loop.producer.delivered == []


async def test_between_a_revocation_and_the_placing_of_partitions_nothing_is_answered() -> None:
    loop = Loop(batch([request("a")]), batch([request("a")]))
    order: list[str] = []

    async def position(assigned: set[Any]) -> None:
        order.append("placed")

    listener = WaitForBatch(loop.ingress, position)
    await listener.on_partitions_revoked(set())
    assert await loop.ingress.step() == 0  # from wherever aiokafka put the partition: dropped
    await listener.on_partitions_assigned({REQUESTS_0})
    assert await loop.ingress.step() == 1
    await loop.ingress.drain()
    assert [r["correlation_id"] for r in loop.producer.on(TOPICS.responses)] == ["a"]
    assert order == ["placed"]


async def test_a_batch_fetched_while_partitions_are_being_placed_is_dropped_and_placed_again() -> (
    None
):
    loop = Loop(batch([request("a")]), batch([request("a")]))
    placed: list[set[Any]] = []
    placing, release, fetched = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def position(assigned: set[Any]) -> None:
        placed.append(set(assigned))
        placing.set()
        await release.wait()  # asking the broker for the stable commits

    getmany = loop.consumer.getmany

    async def fetch(*args: Any, **kwargs: Any) -> Mapping[Any, Sequence[Any]]:
        found = await getmany(*args, **kwargs)  # from aiokafka's own, stale position
        fetched.set()
        return found

    loop.consumer.getmany = fetch  # type: ignore[method-assign]
    listener = WaitForBatch(loop.ingress, position)
    await listener.on_partitions_revoked(set())
    assigning = asyncio.ensure_future(listener.on_partitions_assigned({REQUESTS_0}))
    await placing.wait()
    step = asyncio.ensure_future(loop.ingress.step())  # the loop starts while placing
    await fetched.wait()
    release.set()
    await assigning
    assert await step == 0  # fetched before the partition was placed: dropped
    assert placed == [{REQUESTS_0}, {REQUESTS_0}]
    assert await loop.ingress.step() == 1
    await loop.ingress.drain()
    assert [r["correlation_id"] for r in loop.producer.on(TOPICS.responses)] == ["a"]
