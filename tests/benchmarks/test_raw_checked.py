"""The required-work floor does the work it stands for: the same answer as PacketFlow's,
from a verified token and validated models, in three records."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from aiokafka.partitioner import DefaultPartitioner
from pydantic import ValidationError
from pydantic_core import from_json, to_json

from benchmarks.caps import bench_echo
from benchmarks.raw_checked import Tokens, answer, write_batches
from benchmarks.workload import JWT_SECRET, auth_headers, request_doc, request_value
from packetflow.metrics import Metrics
from packetflow.pipeline.decode import Limits
from packetflow.pipeline.process import Processor
from packetflow.pipeline.publish import Publisher
from packetflow.records import RawRecord
from packetflow.registry import Registry
from packetflow.security.config import authenticator_from
from packetflow.settings import AuthSettings
from packetflow.topics import TopicNames


@dataclass
class Record:
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    topic: str = "bench.requests"
    partition: int = 3
    offset: int = 41


def _answer(record: Record) -> tuple[bytes, bytes, bytes, bytes]:
    return asyncio.run(answer(record, Tokens(), "w1"))


def test_a_request_without_a_valid_token_is_refused() -> None:
    forged = jwt.encode(
        {"sub": "bench", "exp": 4102444800},
        "not-the-benchmark-secret-but-32-bytes-long",
        algorithm="HS256",
    )
    value = request_value("r-1", 1, 1)
    with pytest.raises(jwt.InvalidSignatureError):
        _answer(Record(value, (("authorization", f"Bearer {forged}".encode()),)))
    with pytest.raises(PermissionError):
        _answer(Record(value, ()))


def test_a_payload_that_breaks_the_requires_model_is_refused() -> None:
    doc = request_doc("r-1", 1, 1)
    doc["payload"]["address"] = {"street": "1 Main St"}
    with pytest.raises(ValidationError):
        _answer(Record(to_json(doc), auth_headers()))


def test_three_records_out_with_packetflow_s_answer() -> None:
    value = request_value("r-7", 7, 123)
    key, response, effect, audit = _answer(Record(value, auth_headers()))

    auth = AuthSettings(mode="required", jwt_algorithms=("HS256",), jwt_secret=JWT_SECRET)
    processor = Processor(
        Registry([bench_echo]),
        Publisher(TopicNames("bench"), "w1", 8),
        Metrics(),
        Limits(),
        authenticator=authenticator_from(auth),
    )
    record = RawRecord("bench.requests", 3, 41, b"r-7", value, auth_headers())
    theirs = asyncio.run(processor.handle(record))
    by_kind = {out.kind: out for out in theirs}

    assert key == b"r-7"
    assert (
        from_json(response)["payload"] == from_json(by_kind["capability_response"].value)["payload"]
    )
    assert from_json(effect)["correlation_id"] == "r-7"
    ours, pf_audit = from_json(audit), from_json(by_kind["audit"].value)
    assert (ours["user_id"], ours["outcome"], ours["source"], ours["payload"]) == (
        pf_audit["user_id"],
        pf_audit["outcome"],
        pf_audit["source"],
        pf_audit["payload"],
    )
    assert sorted(out.kind for out in theirs) == ["audit", "capability_response", "effect"]


class FakeBatch:
    def __init__(self, room: int) -> None:
        self.room, self.keys = room, []

    def append(self, *, timestamp: None, key: bytes, value: bytes, headers: list[Any]) -> object:
        if len(self.keys) == self.room:
            return None
        self.keys.append(key)
        return object()


class FakeProducer:
    def __init__(self, room: int) -> None:
        self.room, self.sent = room, []

    def create_batch(self) -> FakeBatch:
        return FakeBatch(self.room)

    async def send_batch(self, batch: FakeBatch, topic: str, *, partition: int) -> Any:
        self.sent.append((topic, partition, batch.keys))
        return asyncio.get_running_loop().create_future()


def test_batches_keep_each_partition_s_order_and_the_default_partitioner_s_choice() -> None:
    keys = [f"r-{i}".encode() for i in range(40)]
    kafka = DefaultPartitioner()

    def chosen(key: bytes) -> int:
        return int(kafka(key, list(range(8)), list(range(8))))

    producer = FakeProducer(room=3)
    outs = [("t.responses", key, b"v") for key in keys]
    delivered = asyncio.run(write_batches(producer, outs, 8))  # type: ignore[arg-type]

    assert len(delivered) == len(producer.sent)
    assert sorted(k for _, _, batch in producer.sent for k in batch) == sorted(keys)
    for _topic, partition, batch in producer.sent:
        assert 0 < len(batch) <= 3
        assert {chosen(k) for k in batch} == {partition}
    per_partition: dict[int, list[bytes]] = {}
    for _topic, partition, batch in producer.sent:
        per_partition.setdefault(partition, []).extend(batch)
    for partition, sent in per_partition.items():
        assert sent == [k for k in keys if chosen(k) == partition]
