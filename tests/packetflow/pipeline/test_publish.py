"""Step 4: the records that answer each outcome, their keys, headers and partitions."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from packetflow.avro import AvroCodec
from packetflow.effects import EffectDoc, EffectRecord
from packetflow.encoding import Encoder, Encoding
from packetflow.envelope import (
    CapabilityRequest,
    CapabilityResponse,
    Context,
    Heartbeat,
    RequestMetadata,
)
from packetflow.errors import (
    ErrorType,
    ExecutionTimeout,
    PacketFlowError,
    PayloadTooLarge,
    ProtocolError,
    error_code,
)
from packetflow.pipeline.publish import DLQ_HEADERS, Publisher
from packetflow.records import AuditDoc, AuditRecord, Outbound, RawRecord
from packetflow.topics import TopicNames

TOPICS = TopicNames("acme")
PUBLISHER = Publisher(TOPICS, "worker-1", reply_partitions=4)
SOURCE = RawRecord(
    "acme.requests",
    3,
    1234,
    b"key-1",
    b"{not json",
    (("traceparent", b"00-trace-span-01"), ("tracestate", b"v=1"), ("x-tenant", b"acme")),
)


def request(reply_partition: int | None = None) -> CapabilityRequest:
    return CapabilityRequest(
        id="req-1",
        intent="greet someone",
        capability_id="greet",
        context=Context(user_id="u1", tenant="acme"),
        metadata=RequestMetadata(reply_partition=reply_partition),
    )


def value(record: Outbound) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(record.value)
    return doc


def test_response_is_keyed_and_correlated() -> None:
    out = PUBLISHER.response(request(), {"greeting": "Hi"}, 12.34567, SOURCE)
    assert (out.topic, out.key, out.partition, out.kind) == (
        "acme.responses",
        b"req-1",
        None,
        "capability_response",
    )
    doc = value(out)
    assert doc["type"] == "capability_response"
    assert (doc["correlation_id"], doc["capability_id"], doc["intent"]) == (
        "req-1",
        "greet",
        "greet someone",
    )
    assert doc["id"] != "req-1"
    assert doc["payload"] == {"greeting": "Hi"}
    assert doc["context"]["tenant"] == "acme"
    assert doc["metadata"] == {"execution_time_ms": 12.346, "worker": "worker-1"}


def test_answers_carry_type_correlation_and_trace_headers_only() -> None:
    out = PUBLISHER.response(request(), {}, 1.0, SOURCE)
    assert out.headers == (
        ("content-type", b"application/json"),
        ("packetflow-type", b"capability_response"),
        ("packetflow-correlation-id", b"req-1"),
        ("traceparent", b"00-trace-span-01"),
        ("tracestate", b"v=1"),
    )


@pytest.mark.parametrize(("asked", "used"), [(0, 0), (3, 3), (4, None), (99, None), (None, None)])
def test_reply_partition_is_honoured_only_if_it_exists(asked: int | None, used: int | None) -> None:
    assert PUBLISHER.response(request(asked), {}, 1.0, SOURCE).partition == used
    error = PUBLISHER.error(
        ProtocolError("x"),
        SOURCE,
        correlation_id="req-1",
        capability_id=None,
        reply_partition=asked,
    )
    assert error.partition == used


@pytest.mark.parametrize("error_type", list(ErrorType))
def test_error_record_carries_the_stable_code(error_type: ErrorType) -> None:
    class Failure(PacketFlowError):
        pass

    Failure.error_type = error_type
    out = PUBLISHER.error(
        Failure("it broke", {"why": "because"}),
        SOURCE,
        correlation_id="req-1",
        capability_id="greet",
        request=request(),
    )
    doc = value(out)
    assert (out.topic, out.key, out.kind) == ("acme.errors", b"req-1", "capability_error")
    assert doc["type"] == "capability_error"
    assert doc["metadata"] == {"error_code": error_code(error_type), "worker": "worker-1"}
    assert doc["payload"] == {
        "error": {"type": error_type.value, "message": "it broke", "details": {"why": "because"}}
    }
    assert (doc["correlation_id"], doc["capability_id"]) == ("req-1", "greet")
    assert doc["context"]["tenant"] == "acme"


def test_error_codes_are_distinct_and_stable() -> None:
    codes = {t: error_code(t) for t in ErrorType}
    assert len(set(codes.values())) == len(codes)
    assert codes[ErrorType.VALIDATION_FAILED] == "E001"
    assert codes[ErrorType.INTERNAL_ERROR] == "E099"


def test_retry_after_is_surfaced_in_metadata() -> None:
    error = ExecutionTimeout("busy", {"retry_after_ms": 250})
    out = PUBLISHER.error(error, SOURCE, correlation_id="req-1", capability_id="greet")
    assert value(out)["metadata"]["retry_after"] == 250


def test_error_without_correlation_is_unkeyed() -> None:
    out = PUBLISHER.error(ProtocolError("bad"), SOURCE, correlation_id=None, capability_id=None)
    assert out.key is None
    assert "packetflow-correlation-id" not in dict(out.headers)
    assert value(out)["correlation_id"] is None


def test_dead_letter_keeps_the_record_and_says_why() -> None:
    out = PUBLISHER.dead_letter(SOURCE, ProtocolError("value is not valid UTF-8 JSON: oops"))
    assert (out.topic, out.key, out.value, out.partition) == (
        "acme.dlq",
        b"key-1",
        b"{not json",
        None,
    )
    assert out.headers[:3] == SOURCE.headers
    assert dict(out.headers[3:]) == {
        DLQ_HEADERS["topic"]: b"acme.requests",
        DLQ_HEADERS["partition"]: b"3",
        DLQ_HEADERS["offset"]: b"1234",
        DLQ_HEADERS["class"]: b"ProtocolError",
        DLQ_HEADERS["message"]: b"value is not valid UTF-8 JSON: oops",
        DLQ_HEADERS["type"]: b"protocol_error",
    }
    assert DLQ_HEADERS["topic"] == "__connect.errors.topic"


def test_dead_letter_message_header_is_bounded() -> None:
    out = PUBLISHER.dead_letter(SOURCE, ProtocolError("é" * 5000))
    message = dict(out.headers)[DLQ_HEADERS["message"]]
    assert len(message) == 4096


def test_heartbeat_answer_names_the_worker() -> None:
    beat = Heartbeat(id="hb-1", metadata={"reply_partition": 2})
    out = PUBLISHER.heartbeat(beat, 3, SOURCE)
    doc = value(out)
    assert (out.topic, out.key, out.partition, out.kind) == (
        "acme.responses",
        b"hb-1",
        2,
        "heartbeat",
    )
    assert (doc["type"], doc["correlation_id"]) == ("heartbeat", "hb-1")
    assert doc["payload"] == {"worker": "worker-1", "status": "alive", "capabilities": 3}


def test_answers_mirror_the_request_encoding() -> None:
    out = PUBLISHER.response(request(), {"n": 2**80}, 1.0, SOURCE, Encoding.AVRO)
    assert out.headers[0] == ("content-type", b"application/avro")
    schema, doc = AvroCodec().decode(out.value)
    assert schema == "response"
    assert (doc["correlation_id"], doc["payload"]) == ("req-1", {"n": 2**80})
    assert doc["context"]["tenant"] == "acme"


# --- records built as mappings stay shaped like their models ---------------------------------


@pytest.mark.parametrize("encoding", [Encoding.JSON, Encoding.AVRO])
def test_a_response_built_as_a_mapping_reads_back_as_the_model(encoding: Encoding) -> None:
    codec = AvroCodec()
    publisher = Publisher(TOPICS, "worker-1", 4, encoder=Encoder(codec))
    req = request(reply_partition=2)
    out = publisher.response(req, {"greeting": "Hi", "n": 2**70}, 1.5, SOURCE, encoding)
    doc = json.loads(out.value) if encoding is Encoding.JSON else codec.decode(out.value)[1]
    assert list(doc) == list(CapabilityResponse.model_fields)  # every field, in model order
    model = CapabilityResponse.model_validate(doc)
    assert (model.correlation_id, model.capability_id, model.intent) == (
        "req-1",
        "greet",
        req.intent,
    )
    assert model.payload == {"greeting": "Hi", "n": 2**70}
    assert model.context.model_dump() == req.context.model_dump()
    assert model.metadata == {"execution_time_ms": 1.5, "worker": "worker-1"}


def test_the_audit_mapping_has_exactly_the_audit_records_fields() -> None:
    assert list(AuditDoc.__annotations__) == list(AuditRecord.model_fields)


def test_the_effect_mapping_has_exactly_the_effect_records_fields() -> None:
    assert list(EffectDoc.__annotations__) == list(EffectRecord.model_fields)


def an_effect(effect_id: str, data: dict[str, Any]) -> EffectDoc:
    """A reactor's effect record as the worker builds it."""
    return {
        "id": effect_id,
        "kind": "reactor",
        "name": "incremented",
        "status": "ok",
        "capability_id": "counter.increment",
        "correlation_id": "req-1",
        "trace_id": None,
        "user_id": "u1",
        "timestamp": "2026-12-01T00:00:00.000Z",
        "data": data,
    }


@pytest.mark.parametrize("encoding", [Encoding.JSON, Encoding.AVRO])
def test_an_effect_built_as_a_mapping_reads_back_as_the_model(encoding: Encoding) -> None:
    codec = AvroCodec()
    publisher = Publisher(TOPICS, "worker-1", 4, encoder=Encoder(codec), encoding=encoding)
    effect = an_effect("e-1", {"value": 2**70, "key": "c1"})
    out = publisher.effect(effect, key="counter:c1")
    doc = json.loads(out.value) if encoding is Encoding.JSON else codec.decode(out.value)[1]
    assert EffectRecord.model_validate(doc).model_dump() == effect
    assert (out.topic, out.key, out.kind) == (TOPICS.effects, b"counter:c1", "effect")


LIMITED = Publisher(TOPICS, "worker-1", reply_partitions=4, max_record_bytes=4096)


def big_source(value_bytes: int, header_bytes: int = 0) -> RawRecord:
    headers = (("traceparent", b"00-trace-span-01"), ("x-filler", b"h" * header_bytes))
    return RawRecord("acme.requests", 2, 77, b"key-9", b"v" * value_bytes, headers)


def test_a_dead_letter_that_fits_keeps_the_original_whole() -> None:
    source = big_source(1000)
    out = LIMITED.dead_letter(source, ProtocolError("value is not valid UTF-8 JSON"))
    assert (out.key, out.value) == (source.key, source.value)
    assert dict(out.headers)["x-filler"] == b""
    assert "packetflow.dlq.described" not in dict(out.headers)


@pytest.mark.parametrize(("value_bytes", "header_bytes"), [(5_000_000, 0), (2000, 3000)])
def test_a_dead_letter_too_large_for_the_broker_is_described(
    value_bytes: int, header_bytes: int
) -> None:
    source = big_source(value_bytes, header_bytes)
    error = PayloadTooLarge(f"record is {value_bytes} bytes", {"size": value_bytes})
    out = LIMITED.dead_letter(source, error)
    headers = dict(out.headers)
    size = (
        len(out.key or b"") + len(out.value or b"") + sum(len(k) + len(v) for k, v in out.headers)
    )
    assert size <= 4096
    assert out.value is None
    assert out.key == b"key-9"
    assert headers[DLQ_HEADERS["topic"]] == b"acme.requests"
    assert headers[DLQ_HEADERS["partition"]] == b"2"
    assert headers[DLQ_HEADERS["offset"]] == b"77"
    assert headers[DLQ_HEADERS["type"]] == b"payload_too_large"
    assert headers["packetflow.dlq.described"] == b"too large to store whole"
    assert headers["packetflow.dlq.value.bytes"] == str(value_bytes).encode()
    assert (
        headers["packetflow.dlq.headers.bytes"]
        == str(sum(len(k) + len(v) for k, v in source.headers)).encode()
    )
    assert headers["packetflow.dlq.key.bytes"] == b"5"
    assert (
        headers["packetflow.dlq.value.sha256"]
        == hashlib.sha256(source.value or b"").hexdigest().encode()
    )
    assert "x-filler" not in headers


def test_an_audit_record_too_large_for_the_broker_omits_its_payload() -> None:
    audit: AuditDoc = {
        "id": "a1",
        "timestamp": "2026-12-02T00:00:00.000Z",
        "outcome": "error",
        "correlation_id": "req-1",
        "capability_id": "greet",
        "user_id": None,
        "session_id": None,
        "trace_id": None,
        "error_type": "validation_failed",
        "error_message": "payload is invalid",
        "duration_ms": 1.0,
        "worker": "worker-1",
        "source": {"topic": "acme.requests", "partition": 0, "offset": 1},
        "payload": {"text": "x" * 10_000},
    }
    out = LIMITED.audit(audit)
    assert out.value is not None
    assert len(out.value) <= 4096
    record = AuditRecord.model_validate_json(out.value)
    assert record.correlation_id == "req-1"
    assert record.error_type == "validation_failed"
    assert record.payload is not None
    assert record.payload["omitted"] == "too large to store whole"
    assert record.payload["bytes"] > 10_000


@pytest.mark.parametrize("encoding", [Encoding.JSON, Encoding.AVRO])
def test_an_effect_too_large_for_the_broker_is_written_with_its_data_described(
    encoding: Encoding,
) -> None:
    effect = an_effect("req-1:0", {"blob": "x" * 10_000})
    publisher = Publisher(TOPICS, "worker-1", reply_partitions=8, max_record_bytes=4096)
    publisher.encoding = encoding
    out = publisher.effect(effect, "counter:k1")
    assert out.value is not None
    assert len(out.value) <= 4096
    if encoding is Encoding.JSON:
        record = EffectRecord.model_validate_json(out.value)
    else:
        record = EffectRecord.model_validate(AvroCodec().decode(out.value)[1])
    assert (record.id, record.kind, record.name, out.key) == (
        "req-1:0",
        "reactor",
        "incremented",
        b"counter:k1",
    )
    whole = Publisher(TOPICS, "worker-1", reply_partitions=8)
    whole.encoding = encoding
    original = whole.effect(effect, "counter:k1").value or b""
    assert record.data == {
        "omitted": "too large to store whole",
        "bytes": len(original),
        "sha256": hashlib.sha256(original).hexdigest(),
    }
