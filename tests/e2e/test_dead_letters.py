"""Garbage never stops a worker: 1,000 bad records among 1,000 good ones, on the real broker.

Every bad record lands on the DLQ exactly once, byte for byte, with Kafka Connect's
``__connect.errors.*`` headers naming where it came from; every good request is answered
exactly once; the worker keeps answering. A dedicated worker (own topics, and a
``PACKETFLOW_MAX_RECORD_BYTES`` of 2048 so oversized records stay small) makes the
counts exact: after the checks it is stopped, and the topics are read to their end.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from packetflow.avro import AvroCodec
from packetflow.envelope import CapabilityRequest, CapabilityResponse, Context
from packetflow.pipeline.publish import DLQ_HEADERS
from tests.e2e.support import Worker, collect, start_worker, wait_ready
from tests.e2e.support import produce as produce_one

GARBAGE = 1000
VALID = 1000
MAX_RECORD_BYTES = 2048
COLLECT_TIMEOUT_S = 300.0
CODEC = AvroCodec()
AVRO = ("content-type", b"application/avro")
JSON = ("content-type", b"application/json")
Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class Sent:
    """A record as produced: what it is, and what the worker must make of it."""

    kind: str
    key: bytes | None
    value: bytes
    headers: Headers
    error_type: str | None  # None: a valid request


def valid_doc(i: int, request_id: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": "1.0",
        "type": "capability_request",
        "capability_id": "user_profile_transform",
        "payload": {"user_id": f"u-{i}", "profile": {"email": f" User{i}@Example.COM "}},
        "context": {"user_id": "dlq-test"},
    }
    if request_id is not None:
        doc["id"] = request_id
    return doc


def dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def avro_request(request_id: str, i: int) -> bytes:
    request = CapabilityRequest.model_validate(valid_doc(i, request_id))
    return CODEC.encode("request", request.model_dump(mode="json"))


def _garbage_value(kind: str, i: int, rng: random.Random, doc_id: str | None) -> bytes:
    doc = valid_doc(i, doc_id)
    if kind == "random_bytes":
        return rng.randbytes(rng.randint(1, 200))
    if kind == "bad_utf8":
        return dumps({**doc, "intent": "INTENT"}).replace(b"INTENT", b"\xff\xfe\xc3(")
    if kind == "truncated_json":
        whole = dumps(doc)
        return whole[: rng.randint(1, len(whole) - 1)]
    if kind == "json_array":
        return dumps(rng.choice([[doc], [1, 2, 3], [], ["capability_request"]]))
    if kind == "wrong_types":
        field, value = rng.choice(
            [
                ("capability_id", 123),
                ("payload", "not an object"),
                ("context", ["alice"]),
                ("metadata", {"timeout": "soon"}),
                ("metadata", {"priority": "urgent"}),
            ]
        )
        return dumps({**doc, field: value})
    if kind == "unknown_type":
        return dumps({**doc, "type": "capability_teleport"})
    if kind == "version_9":
        return dumps({**doc, "version": "9.0"})
    if kind == "bad_avro":  # magic byte 0, schema id 1, body cut short
        whole = avro_request(doc_id or "no-id", i)
        return whole[: rng.randint(5, len(whole) - 1)]
    if kind == "unknown_schema_id":
        whole = avro_request(doc_id or "no-id", i)
        return b"\x00" + rng.choice([0, 8, 99, 2**31]).to_bytes(4, "big") + whole[5:]
    if kind == "oversized":
        doc["payload"]["filler"] = "x" * rng.randint(MAX_RECORD_BYTES, 2 * MAX_RECORD_BYTES)
        return dumps(doc)
    raise AssertionError(kind)


KINDS = {
    "random_bytes": "protocol_error",
    "bad_utf8": "protocol_error",
    "truncated_json": "protocol_error",
    "json_array": "protocol_error",
    "wrong_types": "protocol_error",
    "unknown_type": "protocol_error",
    "version_9": "unsupported_version",
    "bad_avro": "protocol_error",
    "unknown_schema_id": "protocol_error",
    "oversized": "payload_too_large",
}
EXTRA_HEADERS: list[Headers] = [
    (),
    (("x-source", b"garbage-generator"),),
    (("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),),
    (("dup", b"1"), ("dup", b"2")),
    (("empty", b""),),
    (("binary", b"\x00\xff\x80"),),
]


def garbage(i: int, rng: random.Random) -> Sent:
    kind = list(KINDS)[i % len(KINDS)]
    # Most keys are request ids the worker can answer to; some cannot be: none, or binary.
    key = rng.choice([f"garbage-{i}".encode()] * 4 + [None, b"\xff\x00" + bytes([i % 256])])
    doc_id = key.decode() if key and key.startswith(b"garbage-") else None
    headers = rng.choice(EXTRA_HEADERS)
    if kind in ("bad_avro", "unknown_schema_id") and rng.random() < 0.5:
        headers = (AVRO, *headers)
    value = _garbage_value(kind, i, rng, doc_id)
    assert kind != "oversized" or len(value) > MAX_RECORD_BYTES
    return Sent(kind, key, value, headers, KINDS[kind])


def valid(i: int) -> Sent:
    request_id = f"valid-{i}"
    if i % 4 == 0:  # a quarter in Avro, answered in Avro
        return Sent("avro", request_id.encode(), avro_request(request_id, i), (AVRO,), None)
    headers: Headers = (JSON,) if i % 2 else ()
    return Sent("json", request_id.encode(), dumps(valid_doc(i, request_id)), headers, None)


def answer_doc(message: Any) -> dict[str, Any]:
    """An answer's value as a dict, in the encoding its content-type header names."""
    if dict(message.headers).get("content-type") == b"application/avro":
        doc: dict[str, Any] = CODEC.decode(message.value)[1]
        return doc
    loaded: dict[str, Any] = json.loads(message.value)
    return loaded


async def produce(worker: Worker, records: list[Sent]) -> dict[tuple[int, int], Sent]:
    """Produce every record in order; return them by (partition, offset)."""
    producer = AIOKafkaProducer(bootstrap_servers=worker.broker, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(worker.topics.requests, r.value, key=r.key, headers=list(r.headers))
            for r in records
        ]
        metadata = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return {(m.partition, m.offset): r for m, r in zip(metadata, records, strict=True)}


async def read_to_end(broker: str, topics: list[str]) -> dict[str, list[Any]]:
    """Every record of ``topics``, from the beginning to the end offsets as of now."""
    admin = AIOKafkaAdminClient(bootstrap_servers=broker)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    partitions = [
        TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]
    ]
    assert len({tp.topic for tp in partitions}) == len(topics), described
    consumer = AIOKafkaConsumer(bootstrap_servers=broker, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        out: dict[str, list[Any]] = {t: [] for t in topics}
        remaining = {tp for tp in partitions if ends[tp] > 0}
        deadline = asyncio.get_running_loop().time() + COLLECT_TIMEOUT_S
        while remaining and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, messages in batches.items():
                out[tp.topic].extend(m for m in messages if m.offset < ends[tp])
                if messages and messages[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        assert not remaining, f"could not read {sorted(map(str, remaining))} to their end"
        return out
    finally:
        await consumer.stop()


async def wait_for(broker: str, topic: str, match: Callable[[Any], bool], count: int) -> list[Any]:
    found = await collect(broker, topic, match, count, timeout=COLLECT_TIMEOUT_S)
    assert len(found) >= count, f"only {len(found)} of {count} records on {topic} in time"
    return found


@pytest.fixture(scope="module")
async def small_worker(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Worker]:
    """A worker of its own (own topics), refusing records over 2048 bytes."""
    w = start_worker(
        kafka_bootstrap,
        tmp_path_factory.mktemp("dlq-worker"),
        PACKETFLOW_MAX_RECORD_BYTES=str(MAX_RECORD_BYTES),
    )
    try:
        await wait_ready(w)
        yield w
    finally:
        w.stop()


async def test_a_thousand_garbage_records_among_a_thousand_requests(small_worker: Worker) -> None:
    w = small_worker
    rng = random.Random(20_240_601)
    records = [garbage(i, rng) for i in range(GARBAGE)] + [valid(i) for i in range(VALID)]
    rng.shuffle(records)
    sent = await produce(w, records)
    requests_topic = w.topics.requests

    # 1. Bounded waits until every record has been handled.
    await wait_for(w.broker, w.topics.dlq, lambda m: True, GARBAGE)
    await wait_for(
        w.broker, w.topics.responses, lambda m: bool(m.key and m.key.startswith(b"valid-")), VALID
    )

    # 2. The worker is alive and still answers, in both encodings.
    assert w.proc.poll() is None, f"worker died:\n{w.log_tail()}"
    async with w.client() as client:
        assert (await client.ping())["status"] == "alive"
        after = await client.call(
            "user_profile_transform", {"user_id": "after", "profile": {"email": " Late@X.IO "}}
        )
        assert after["transformed_profile"]["email"] == "late@x.io"
    log = w.log.read_text(errors="replace")
    assert "Restarting dead" not in log, "the request agent crashed and was restarted"

    # 3. Stop it, so nothing more can arrive, and read every output to its end.
    w.stop()
    out = await read_to_end(w.broker, [w.topics.dlq, w.topics.responses, w.topics.errors])

    # Exactly one dead letter per garbage record, byte for byte, and none for a request.
    dead_letters = out[w.topics.dlq]
    assert len(dead_letters) == GARBAGE
    seen: Counter[tuple[int, int]] = Counter()
    for dead in dead_letters:
        headers = tuple(dead.headers)
        added = dict(headers[-len(DLQ_HEADERS) :])
        assert list(added) == list(DLQ_HEADERS.values()), headers
        assert added["__connect.errors.topic"] == requests_topic.encode()
        origin = (int(added["__connect.errors.partition"]), int(added["__connect.errors.offset"]))
        original = sent[origin]
        seen[origin] += 1
        assert original.error_type is not None, f"a valid request was dead-lettered: {original}"
        assert (dead.key, dead.value) == (original.key, original.value), original.kind
        assert headers[: -len(DLQ_HEADERS)] == original.headers, original.kind
        assert added["packetflow.error.type"].decode() == original.error_type, original.kind
        expected_class = {
            "protocol_error": b"ProtocolError",
            "unsupported_version": b"UnsupportedVersion",
            "payload_too_large": b"PayloadTooLarge",
        }[original.error_type]
        assert added["__connect.errors.exception.class.name"] == expected_class
        assert added["__connect.errors.exception.message"]
    assert set(seen.values()) == {1}
    assert len(seen) == GARBAGE

    # Exactly one correct response per valid request, in the request's encoding.
    valid_sent = {r.key.decode(): r for r in sent.values() if r.error_type is None and r.key}
    answered: Counter[str] = Counter()
    for message in out[w.topics.responses]:  # also holds the heartbeat answers
        doc = answer_doc(message)
        if doc["type"] != "capability_response" or doc["correlation_id"] not in valid_sent:
            continue
        response = CapabilityResponse.model_validate(doc)
        request_id = response.correlation_id
        answered[request_id] += 1
        i = int(request_id.removeprefix("valid-"))
        assert message.key == request_id.encode()
        assert dict(message.headers)["content-type"] == (
            b"application/avro" if valid_sent[request_id].kind == "avro" else b"application/json"
        )
        assert response.payload["user_id"] == f"u-{i}"
        assert response.payload["transformed_profile"]["email"] == f"user{i}@example.com"
        assert response.context == Context(user_id="dlq-test")
    assert len(answered) == VALID
    assert set(answered.values()) == {1}

    # Garbage with a usable request id is answered once with its error; requests never are.
    garbage_ids = {
        r.key.decode(): r for r in sent.values() if r.key and r.key.startswith(b"garbage-")
    }
    errors: Counter[str] = Counter()
    for message in out[w.topics.errors]:
        doc = answer_doc(message)
        correlation = doc["correlation_id"]
        assert correlation not in valid_sent, f"request {correlation} got an error: {doc}"
        assert correlation in garbage_ids, doc
        assert doc["payload"]["error"]["type"] == garbage_ids[correlation].error_type
        errors[correlation] += 1
    assert errors == Counter(dict.fromkeys(garbage_ids, 1))


async def test_null_value_is_dead_lettered_as_null(worker: Worker) -> None:
    key = b"tombstone-for-the-dlq"
    await produce_one(worker, None, key=key)
    [dead] = await collect(worker.broker, worker.topics.dlq, lambda m: m.key == key, 1)
    assert dead.value is None
