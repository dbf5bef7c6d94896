"""Exactly once: a batch's records become visible together with its offsets, or not at all."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.structs import TopicPartition
from faust.types import TP

from packetflow import Registry
from packetflow.faust.patches import FetchGaps
from packetflow.ingress.loop import Ingress, IngressConfig
from packetflow.kafka.partition import Partitioner
from packetflow.kafka.transactions import Transactions
from packetflow.metrics import Metrics
from packetflow.pipeline.decode import Limits
from packetflow.pipeline.process import Processor
from packetflow.pipeline.publish import Publisher
from packetflow.pipeline.refused import UndeliveredRecord, replacements, replacer
from packetflow.records import Outbound
from packetflow.worker.agent_transactions import AgentTransactions
from packetflow.worker.holes import Continuity
from tests.packetflow.faust.patches.fakes import consumer_message
from tests.packetflow.ingress.test_loop import (
    REQUESTS_0,
    TOPICS,
    FakeConsumer,
    Message,
    batch,
    echo,
    request,
)
from tests.packetflow.worker.fakes import FakeProducer, TransactionalBroker

GROUP = "app.requests"


class Loop:
    """An exactly-once ingress on a fake transactional broker, with a real processor."""

    def __init__(self, *batches: dict[TopicPartition, list[Message]]) -> None:
        self.broker = TransactionalBroker()
        self.consumer = FakeConsumer(list(batches), FakeProducer([]))
        publisher = Publisher(TOPICS, "w1", 8)
        metrics = Metrics()
        processor = Processor(Registry([echo]), publisher, metrics, Limits())
        place = Partitioner(lambda topic: 8)

        def replace(refused: Any, exc: BaseException) -> list[Outbound]:
            return replacements(refused, exc, publisher, metrics)

        self.transactions = Transactions(self.broker.producer, GROUP, place, replace)
        self.ingress = Ingress(
            self.consumer,
            FakeProducer([]),  # not used: every record goes through the transactions
            processor.handle,
            replacer(publisher, metrics),
            IngressConfig(batch=100, bundle=10, linger_ms=50),
            place,
            transactions=self.transactions,
        )


async def test_a_batch_is_seen_with_its_offsets_once_its_transaction_commits() -> None:
    loop = Loop(batch([request("a"), request("b")]))
    await loop.ingress.step()
    await loop.ingress.drain()
    assert sorted(r["correlation_id"] for r in loop.broker.on(TOPICS.responses)) == ["a", "b"]
    assert len(loop.broker.on(TOPICS.audit)) == 2
    assert loop.broker.offsets == {GROUP: {REQUESTS_0: 12}}
    assert loop.consumer.commits == []  # no offset committed outside a transaction


async def test_nothing_of_a_batch_is_seen_before_its_commit() -> None:
    loop = Loop(batch([request("a")]))
    gate = loop.transactions.commit

    async def look_then_commit(sent: Any, offsets: Any) -> None:
        assert loop.broker.visible == []
        assert loop.broker.offsets == {}
        await gate(sent, offsets)

    loop.transactions.commit = look_then_commit  # type: ignore[method-assign]
    await loop.ingress.step()
    await loop.ingress.drain()
    assert [r["correlation_id"] for r in loop.broker.on(TOPICS.responses)] == ["a"]


async def test_the_next_batch_is_processed_during_the_last_commit_and_written_after_it() -> None:
    later = {REQUESTS_0: [Message(TOPICS.requests, 0, 11, None, request("b"))]}
    loop = Loop(batch([request("a")]), later)
    gate = asyncio.Event()
    commit, handle = loop.transactions.commit, loop.ingress._handle
    handled: list[str] = []
    both = asyncio.Event()

    async def slow_commit(sent: Any, offsets: Any) -> None:
        await gate.wait()
        await commit(sent, offsets)

    async def seen(record: Any) -> Any:
        out = await handle(record)
        handled.append(json.loads(record.value)["id"])
        if len(handled) == 2:
            both.set()
        return out

    loop.transactions.commit = slow_commit  # type: ignore[method-assign]
    loop.ingress._handle = seen
    await loop.ingress.step()
    second = asyncio.create_task(loop.ingress.step())
    await both.wait()  # b is processed while a's transaction commits
    assert loop.broker.visible == []
    assert loop.broker.events.count("begin") == 1  # ... and written only after it
    gate.set()
    await second
    await loop.ingress.drain()
    events = [e for e in loop.broker.events if e in ("begin", "commit")]
    assert events == ["begin", "commit", "begin", "commit"]
    assert [r["correlation_id"] for r in loop.broker.on(TOPICS.responses)] == ["a", "b"]


async def test_a_refused_response_is_answered_by_an_error_on_a_new_producer() -> None:
    loop = Loop(batch([request("a"), request("b")]))
    loop.broker.refuse = {TOPICS.responses}
    loop.broker.refuse_with = MessageSizeTooLargeError
    await loop.ingress.step()
    await loop.ingress.drain()
    # the producer's sequences are spent on the refused batch: a new one writes it all again
    assert len(loop.broker.producers) == 2
    assert loop.transactions.renewed == 1
    assert "abort" in loop.broker.events
    errors = loop.broker.on(TOPICS.errors)
    assert sorted(e["correlation_id"] for e in errors) == ["a", "b"]
    assert all(e["payload"]["error"]["type"] == "internal_error" for e in errors)
    assert "too large for the broker" in errors[0]["payload"]["error"]["message"]
    assert loop.broker.on(TOPICS.responses) == []
    assert len(loop.broker.on(TOPICS.audit)) == 2  # each once: the aborted copies are not seen
    assert loop.broker.offsets == {GROUP: {REQUESTS_0: 12}}


async def test_a_refused_audit_record_stops_the_loop_with_nothing_committed() -> None:
    loop = Loop(batch([request("a")]))
    loop.broker.refuse = {TOPICS.audit}
    await loop.ingress.step()
    with pytest.raises(UndeliveredRecord) as raised:
        await loop.ingress.drain()
    assert raised.value.record.topic == TOPICS.audit
    assert loop.broker.visible == []
    assert loop.broker.offsets == {}
    assert loop.broker.events[-1] == "abort"


async def test_an_empty_poll_opens_no_transaction() -> None:
    loop = Loop()
    assert await loop.ingress.step() == 0
    await loop.ingress.drain()
    assert "begin" not in loop.broker.events


class FaustConsumer:
    """What the agents' transactions touch of Faust's consumer."""

    def __init__(self, owned: set[TP] | None = None) -> None:
        self.owned = owned or set()
        self.packetflow_offsets = SimpleNamespace(transacted={})  # StrictOffsets, installed
        self._committed_offset: dict[TP, int] = {}
        self.seeks: list[tuple[TP, int]] = []

    async def seek(self, tp: TP, offset: int) -> None:
        self.seeks.append((tp, offset))

    def assignment(self) -> set[TP]:
        return self.owned


def answer(cid: str) -> Outbound:
    value = f'{{"correlation_id": "{cid}"}}'.encode()
    return Outbound(TOPICS.responses, cid.encode(), value, (), None, "capability_response")


HOPS = TP("app.reactor.counter", 3)


class Reader:
    """A hole reader: which holes hold a record (the broker's answer)."""

    def __init__(self, records: set[int] | None = None) -> None:
        self.records = records or set()
        self.read: list[tuple[int, int]] = []

    async def holds_record(self, tp: TP, start: int, end: int) -> bool:
        self.read.append((start, end))
        return any(start <= r < end for r in self.records)

    async def stop(self) -> None:
        pass


async def agent(
    broker: TransactionalBroker,
    owned: set[TP],
    offsets: tuple[int, ...] = (40, 41, 42),
    reader: Reader | None = None,
    gaps: FetchGaps | None = None,
) -> tuple[AgentTransactions, Any]:
    app = SimpleNamespace(consumer=FaustConsumer(owned), consumer_generation_id=3, rejoins=0)

    def rejoin() -> None:
        app.rejoins += 1

    place = Partitioner(lambda topic: 8)
    gaps = gaps or FetchGaps()
    gaps.sought = {HOPS: (3, 40)}  # sought to 40 in generation 3
    continuity = Continuity(gaps)
    tx = AgentTransactions(
        app,
        Transactions(broker.producer, "app", place, _no_loss),
        place,
        1,
        continuity,
        reader or Reader(),  # type: ignore[arg-type]
        rejoin,
    )
    await tx.start()
    for offset in offsets:
        await tx.admit(SimpleNamespace(message=consumer_message(HOPS, offset)))
    return tx, app


async def test_an_agent_commits_its_answers_with_the_offsets_of_the_events_answered() -> None:
    broker = TransactionalBroker()
    tx, app = await agent(broker, {HOPS})
    await tx.commit([answer("a"), answer("b")])
    assert [r["correlation_id"] for r in broker.on(TOPICS.responses)] == ["a", "b"]
    assert broker.offsets == {"app": {TopicPartition(HOPS.topic, 3): 43}}
    assert app.consumer._committed_offset == {HOPS: 43}  # what Faust reports as committed
    assert app.consumer.packetflow_offsets.transacted == {HOPS: 43}  # where a seek goes
    await tx.commit([])  # nothing consumed, nothing to answer: no transaction
    assert broker.events.count("begin") == 1


async def test_an_agent_answers_nothing_of_a_partition_revoked_while_it_ran() -> None:
    broker = TransactionalBroker()
    tx, _app = await agent(broker, owned=set())
    await tx.commit([answer("a")])
    assert broker.visible == []
    assert broker.offsets == {}
    assert broker.events[-1] == "abort"


async def test_an_agent_commits_over_offsets_its_fetch_loop_passed_over() -> None:
    broker, gaps, reader = TransactionalBroker(), FetchGaps(), Reader()
    await gaps.add(HOPS, 41, 42)  # a commit marker of the request loop's transaction
    tx, _ = await agent(broker, {HOPS}, (40, 42, 43), reader, gaps)
    await tx.commit([answer("a")])
    assert broker.offsets == {"app": {TopicPartition(HOPS.topic, 3): 44}}
    assert reader.read == []  # nothing to read: the fetch loop accounts for 41


async def test_an_agent_commits_over_a_hole_that_holds_no_record() -> None:
    broker, reader = TransactionalBroker(), Reader()
    tx, _ = await agent(broker, {HOPS}, (43, 44), reader)  # 40-42: markers after the seek
    await tx.commit([answer("a")])
    assert reader.read == [(40, 43)]
    assert broker.offsets == {"app": {TopicPartition(HOPS.topic, 3): 45}}


async def test_an_agent_answers_nothing_past_a_record_the_stream_skipped() -> None:
    broker, reader = TransactionalBroker(), Reader(records={41})
    tx, app = await agent(broker, {HOPS}, (40,), reader)

    def hop(offset: int) -> Any:
        return SimpleNamespace(message=consumer_message(HOPS, offset))

    assert not await tx.admit(hop(42))  # 41 was dropped by the stream: 42 is not applied
    assert app.rejoins == 1  # the rebalance reads the partition again from its commit
    await tx.commit([answer("a")])
    assert broker.offsets == {"app": {TopicPartition(HOPS.topic, 3): 41}}  # up to 40's answer
    assert not await tx.admit(hop(43))  # the same generation: still nothing of it
    assert app.rejoins == 1
    app.consumer_generation_id = 4  # the rebalance: read again from the commit, 41
    assert [await tx.admit(hop(offset)) for offset in (41, 42, 43)] == [True] * 3
    await tx.commit([answer("b"), answer("c"), answer("d")])
    assert [r["correlation_id"] for r in broker.on(TOPICS.responses)] == ["a", "b", "c", "d"]
    assert broker.offsets == {"app": {TopicPartition(HOPS.topic, 3): 44}}


def _no_loss(refused: Any, exc: BaseException) -> list[Outbound]:
    raise AssertionError(f"nothing is refused here: {exc!r}")


async def test_records_read_again_are_not_answered_again_even_before_their_commit() -> None:
    loop = Loop(batch([request("a"), request("b")]), batch([request("a"), request("b")]))
    await loop.ingress.step()  # its transaction still on its way when the same records return
    assert await loop.ingress.step() == 0  # a seek went back behind what it answered: dropped
    await loop.ingress.drain()
    assert sorted(r["correlation_id"] for r in loop.broker.on(TOPICS.responses)) == ["a", "b"]
    assert loop.ingress.answered() == {REQUESTS_0: 12}
