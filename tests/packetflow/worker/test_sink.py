"""A Faust agent's records: written into batches, refused answers replaced, any other loss
ends the worker before a commit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import pytest

from packetflow.envelope import MessageType
from packetflow.kafka.batches import Sent, acknowledged
from packetflow.metrics import Metrics
from packetflow.pipeline.publish import Publisher
from packetflow.records import Outbound
from packetflow.topics import TopicNames
from packetflow.worker.sink import BatchSink, Resends
from tests.packetflow.worker.fakes import FakeProducer

TOPICS = TopicNames("t")


class Lost(Exception):
    """What ``on_lost`` was called with."""


def response(n: int) -> Outbound:
    doc = {"type": "capability_response", "correlation_id": f"r{n}", "payload": {"n": n}}
    value = json.dumps(doc).encode()
    return Outbound(TOPICS.responses, f"r{n}".encode(), value, kind=MessageType.CAPABILITY_RESPONSE)


def effect(n: int) -> Outbound:
    return Outbound(TOPICS.effects, f"counter:k{n}".encode(), b'{"kind": "reactor"}', kind="effect")


class Sink:
    """A sink on a fake producer; ``lost`` holds what ``on_lost`` received."""

    def __init__(self, place_partition: int = 0) -> None:
        self.producer = FakeProducer([])
        self.lost: list[BaseException] = []
        self.resends = Resends()
        self.sent: Sent = []
        self.sink = BatchSink(
            self.producer,
            lambda topic, key, partition: place_partition if partition is None else partition,
            Publisher(TOPICS, "w1", 8),
            Metrics(),
            self.lost.append,
            self.resends,
        )

        send = self.sink.send

        async def kept(records: Sequence[Outbound]) -> Sent:  # whoever sends, settle sees it
            sent = await send(records)
            self.sent.extend(sent)
            return sent

        self.sink.send = kept  # type: ignore[method-assign]

    async def send(self, records: list[Outbound]) -> Sent:
        """``BatchSink.send``, its batches kept for :meth:`settle`."""
        return await self.sink.send(records)

    async def settle(self) -> None:
        """Until the fake broker has acknowledged or refused every batch sent, and every
        replacement is delivered or refused.

        Each batch's delivery callback (the sink's) was added before ``acknowledged``
        waits on it, so it has run, and queued any resend, once that wait returns; a
        resend's own refusal is seen before its task ends.
        """
        await acknowledged(self.sent)
        await self.resends.settle()


async def test_records_go_out_in_batches_in_order_to_their_partitions() -> None:
    s = Sink(place_partition=5)
    await s.send([response(1), effect(1), response(2)])
    await s.settle()
    assert [r["correlation_id"] for r in s.producer.on(TOPICS.responses)] == ["r1", "r2"]
    assert s.producer.partitions == [
        (TOPICS.responses, 5),
        (TOPICS.responses, 5),
        (TOPICS.effects, 5),
    ]
    assert s.lost == []


async def test_a_refused_batch_of_responses_is_answered_with_internal_errors() -> None:
    s = Sink()
    s.producer.refuse = {TOPICS.responses}
    await s.send([response(1), response(2)])
    await s.settle()
    errors = s.producer.on(TOPICS.errors)
    assert [e["correlation_id"] for e in errors] == ["r1", "r2"]
    assert {e["payload"]["error"]["type"] for e in errors} == {"internal_error"}
    assert s.producer.on(TOPICS.responses) == []
    assert s.lost == []


async def test_a_refused_effect_calls_on_lost() -> None:
    s = Sink()
    s.producer.refuse = {TOPICS.effects}
    await s.send([response(1), effect(1)])
    await s.settle()
    [exc] = s.lost
    assert type(exc).__name__ == "KafkaTimeoutError"


async def test_a_refused_replacement_calls_on_lost() -> None:
    s = Sink()
    s.producer.refuse, s.producer.refuse_times = {TOPICS.responses, TOPICS.errors}, 2
    await s.send([response(1)])
    await s.settle()
    assert len(s.lost) == 1
    assert s.producer.delivered == []


async def test_on_lost_is_called_before_a_flush_waiting_on_the_batch_resumes() -> None:
    """Faust flushes the producer, then commits: the loss must be seen first."""
    s = Sink()
    s.producer.refuse = {TOPICS.effects}
    seen_at_flush: list[int] = []
    deliveries: list[asyncio.Future[None]] = []
    send_batch = s.producer.send_batch

    async def keep(batch: object, topic: str, *, partition: int) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = await send_batch(batch, topic, partition=partition)  # type: ignore[arg-type]
        deliveries.append(fut)
        return fut

    s.producer.send_batch = keep  # type: ignore[method-assign]
    await s.sink.send([effect(1)])
    await asyncio.wait(deliveries)  # what the producer's flush does
    seen_at_flush.append(len(s.lost))
    assert seen_at_flush == [1]


async def test_a_commit_waits_until_a_refused_response_is_answered() -> None:
    """Faust flushes, then commits: the replacement answer must be on the broker by then."""
    s = Sink()
    s.producer.refuse, s.producer.refuse_times = {TOPICS.responses}, 1
    await acknowledged(await s.sink.send([response(1)]))  # Faust's flush: it is refused
    await s.resends.settle()  # what the commit waits for next
    assert [e["correlation_id"] for e in s.producer.on(TOPICS.errors)] == ["r1"]


async def test_a_commit_never_follows_a_refused_replacement() -> None:
    s = Sink()
    s.producer.refuse, s.producer.refuse_times = {TOPICS.responses, TOPICS.errors}, 2
    await acknowledged(await s.sink.send([response(1)]))
    await s.resends.settle()
    assert len(s.lost) == 1  # in a worker: halted, so the commit never runs


@pytest.mark.parametrize("count", [0, 1])
async def test_nothing_to_send_sends_nothing(count: int) -> None:
    s = Sink()
    await s.send([response(n) for n in range(count)])
    await s.settle()
    assert len(s.producer.delivered) == count


def dead_letter(size: int) -> Outbound:
    headers = (("__connect.errors.topic", b"t.requests"), ("x-filler", b"h" * 100))
    return Outbound(TOPICS.dlq, b"k1", b"v" * size, headers, kind="dead_letter")


async def test_a_dead_letter_refused_for_its_size_is_stored_described() -> None:
    from aiokafka.errors import MessageSizeTooLargeError

    s = Sink()
    s.producer.refuse, s.producer.refuse_with = {TOPICS.dlq}, MessageSizeTooLargeError
    await s.send([dead_letter(50_000)])
    await s.settle()
    assert s.lost == []
    [(topic, key, value)] = s.producer.delivered
    assert (topic, key, value) == (TOPICS.dlq, b"k1", None)


async def test_a_dead_letter_refused_for_another_reason_calls_on_lost() -> None:
    s = Sink()
    s.producer.refuse = {TOPICS.dlq}
    await s.send([dead_letter(10)])
    await s.settle()
    [exc] = s.lost
    assert type(exc).__name__ == "KafkaTimeoutError"


async def test_the_answer_replacing_a_refused_response_keeps_its_context_and_capability() -> None:
    s = Sink()
    s.producer.refuse = {TOPICS.responses}
    doc = {
        "version": "1.0",
        "id": "resp-1",
        "intent": "greet",
        "type": "capability_response",
        "correlation_id": "r1",
        "capability_id": "text.greet",
        "context": {"user_id": "alice", "trace_id": "t-1", "tenant": "acme"},
        "payload": {"text": "x" * 1000},
        "metadata": {},
    }
    headers = (("content-type", b"application/json"), ("traceparent", b"00-ab-cd-01"))
    refused = Outbound(
        TOPICS.responses,
        b"r1",
        json.dumps(doc).encode(),
        headers,
        2,
        MessageType.CAPABILITY_RESPONSE,
    )
    await s.send([refused])
    await s.settle()
    [error] = s.producer.on(TOPICS.errors)
    assert (error["correlation_id"], error["capability_id"]) == ("r1", "text.greet")
    assert error["context"]["user_id"] == "alice"
    assert error["context"]["tenant"] == "acme"
    assert error["intent"] == "greet"
    assert s.lost == []


async def test_a_refused_response_that_is_not_an_envelope_is_still_answered() -> None:
    s = Sink()
    s.producer.refuse = {TOPICS.responses}
    refused = Outbound(TOPICS.responses, b"r1", b"\xff not json", (), 2, "capability_response")
    await s.send([refused])
    await s.settle()
    [error] = s.producer.on(TOPICS.errors)
    assert (error["correlation_id"], error["capability_id"]) == ("r1", None)
    assert s.lost == []
