"""Step 1, bytes to envelope: every bad record is classified, with what can be recovered."""

from __future__ import annotations

import asyncio
import io
import json
import re
import struct
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from packetflow import CallContext, Custom, capability
from packetflow.avro import LOCAL_SCHEMA_IDS, AvroCodec, load_schema
from packetflow.effects import EffectInvocation
from packetflow.envelope import CapabilityRequest, CapabilityResponse, Heartbeat
from packetflow.errors import ErrorType, PacketFlowError, ProtocolError, UnsupportedVersion
from packetflow.pipeline.decode import (
    REQUEST_ID_HEADER,
    Decoded,
    Limits,
    UndecodableRecord,
    decode,
)
from packetflow.records import Header, Outbound, RawRecord
from packetflow.testing import CapabilityTester

LIMITS = Limits(max_record_bytes=4096)
MINIMAL = {"version": "1.0", "type": "capability_request", "capability_id": "x"}
AVRO = (("content-type", b"application/avro"),)


def raw(
    value: bytes | None, key: bytes | None = None, headers: tuple[Header, ...] = ()
) -> RawRecord:
    return RawRecord("packetflow.requests", 2, 40, key, value, headers)


def envelope(**fields: Any) -> bytes:
    """MINIMAL with ``fields`` replaced; a field set to ``...`` is removed."""
    doc = {**MINIMAL, **fields}
    return json.dumps({k: v for k, v in doc.items() if v is not ...}).encode()


def undecodable(record: RawRecord, limits: Limits = LIMITS) -> UndecodableRecord:
    with pytest.raises(UndecodableRecord) as info:
        decode(record, limits)
    return info.value


def payload_of(value: bytes, limits: Limits = LIMITS) -> dict[str, Any]:
    request = decode(raw(value), limits)
    assert isinstance(request, CapabilityRequest)
    return request.payload


# --- bad input ------------------------------------------------------------------------------


def test_record_without_value_is_answered_by_its_request_id_header() -> None:
    bad = undecodable(raw(None, b"key-1", ((REQUEST_ID_HEADER, b"hdr-1"),)))
    assert type(bad.error) is ProtocolError
    assert bad.error.message == "record has no value"
    assert bad.correlation_id == "hdr-1"


def test_oversize_record_reports_size_and_limit() -> None:
    value = envelope(payload={"blob": "x" * 100})
    bad = undecodable(raw(value, b"key-1"), Limits(max_record_bytes=64))
    assert bad.error.error_type is ErrorType.PAYLOAD_TOO_LARGE
    assert bad.error.details == {"size": len(value), "limit": 64}
    assert bad.error.message == f"record is {len(value)} bytes, the limit is 64"
    assert bad.correlation_id == "key-1"


def test_record_of_exactly_the_limit_is_accepted() -> None:
    value = envelope()
    assert isinstance(decode(raw(value), Limits(max_record_bytes=len(value))), CapabilityRequest)


BAD_BYTES = [
    pytest.param(b"not json", "value is not valid UTF-8 JSON", id="non-json"),
    pytest.param(b"", "value is not valid UTF-8 JSON", id="empty"),
    pytest.param(b'{"version": "1.0", "id": "\xff\xfe"}', "not valid UTF-8 JSON", id="bad-utf8"),
    pytest.param(b'{"id": "\\ud800"}', "lone surrogate escape", id="lone-surrogate"),
    pytest.param(b'{"id": "\\udc00"}', "lone surrogate escape", id="lone-low-surrogate"),
    pytest.param(b'{"version": "1.0",', "not valid UTF-8 JSON", id="truncated"),
    pytest.param(b'{"payload": {"a": NaN}}', "not valid UTF-8 JSON", id="nan"),
    pytest.param(b"[1, 2]", "envelope must be a JSON object, not a list", id="array"),
    pytest.param(b"42", "envelope must be a JSON object, not a number", id="number"),
    pytest.param(b'"hello"', "envelope must be a JSON object, not a string", id="string"),
    pytest.param(b"null", "envelope must be a JSON object, not null", id="null"),
    pytest.param(b"true", "envelope must be a JSON object, not true", id="true"),
    pytest.param(b"\x00\x00\x00\x00\x63", "value is not valid Avro", id="avro-unknown-schema"),
    pytest.param(b"\x00{}", "value is not valid Avro", id="avro-too-short"),
]


@pytest.mark.parametrize(("value", "message"), BAD_BYTES)
def test_bytes_that_are_no_envelope(value: bytes, message: str) -> None:
    bad = undecodable(raw(value, b"key-1"))
    assert type(bad.error) is ProtocolError
    assert message in bad.error.message
    assert (bad.correlation_id, bad.reply_partition, bad.capability_id) == ("key-1", None, None)


@pytest.mark.parametrize(
    ("key", "headers", "expected"),
    [
        pytest.param(b"key-1", (), "key-1", id="key"),
        pytest.param(b"key-1", ((REQUEST_ID_HEADER, b"hdr-1"),), "hdr-1", id="header-wins"),
        pytest.param(b"\xff\xfe", (), None, id="binary-key"),
        pytest.param(b"line\nbreak", (), None, id="unprintable-key"),
        pytest.param(b"k" * 257, (), None, id="overlong-key"),
        pytest.param(None, ((REQUEST_ID_HEADER, b""),), None, id="empty-header"),
        pytest.param(b"key-1", ((REQUEST_ID_HEADER, b"\xff"),), "key-1", id="bad-header"),
    ],
)
def test_correlation_recovered_from_header_or_key(
    key: bytes | None, headers: tuple[Header, ...], expected: str | None
) -> None:
    assert undecodable(raw(b"junk", key, headers)).correlation_id == expected


RECOVERABLE = {"id": "req-1", "metadata": {"reply_partition": 3}}

BAD_ENVELOPES = [
    pytest.param({"version": ...}, ProtocolError, "version is missing: a string MAJOR.MINOR"),
    pytest.param({"version": "2.0"}, UnsupportedVersion, "protocol version 2.0 is not supported"),
    pytest.param({"version": "0.9"}, UnsupportedVersion, "protocol version 0.9 is not supported"),
    pytest.param({"version": "one.zero"}, ProtocolError, "got 'one.zero'"),
    pytest.param({"version": "1.0.0"}, ProtocolError, "got '1.0.0'"),
    pytest.param({"version": 1.0}, ProtocolError, "must be a string MAJOR.MINOR, got the number"),
    pytest.param({"version": None}, ProtocolError, "must be a string MAJOR.MINOR, got null"),
    pytest.param({"type": "bogus"}, ProtocolError, "type 'bogus' cannot be sent"),
    pytest.param({"type": ...}, ProtocolError, "type is missing"),
    pytest.param({"type": None}, ProtocolError, "type must be a string, got null"),
    pytest.param({"type": 3}, ProtocolError, "type must be a string, got the number 3"),
    pytest.param(
        {"type": "capability_response"}, ProtocolError, "'capability_response' cannot be sent"
    ),
    pytest.param({"type": "capability_error"}, ProtocolError, "'capability_error' cannot be"),
]


@pytest.mark.parametrize(("fields", "error", "message"), BAD_ENVELOPES)
def test_bad_envelope_is_classified_and_keeps_what_it_can(
    fields: dict[str, Any], error: type[PacketFlowError], message: str
) -> None:
    bad = undecodable(raw(envelope(**{**RECOVERABLE, **fields}), b"key-1"))
    assert type(bad.error) is error
    assert message in bad.error.message
    assert (bad.correlation_id, bad.reply_partition, bad.capability_id) == ("req-1", 3, "x")


def test_unsupported_version_lists_supported_versions() -> None:
    bad = undecodable(raw(envelope(version="2.0")))
    assert bad.error.error_type is ErrorType.UNSUPPORTED_VERSION
    assert bad.error.details == {"supported": ["1.0"], "received": "2.0"}


def test_wrong_message_type_lists_accepted_types() -> None:
    bad = undecodable(raw(envelope(type="capability_response")))
    assert bad.error.details == {"accepted": ["capability_request", "heartbeat"]}


@pytest.mark.parametrize(
    ("fields", "field", "kind"),
    [
        pytest.param({"capability_id": ...}, "capability_id", "missing", id="no-capability"),
        pytest.param({"capability_id": ""}, "capability_id", "string_too_short", id="empty-cap"),
        pytest.param({"payload": [1, 2]}, "payload", "wrong_type", id="payload-list"),
        pytest.param({"payload": None}, "payload", "wrong_type", id="payload-null"),
        pytest.param({"context": "alice"}, "context", "wrong_type", id="context-str"),
        pytest.param(
            {"metadata": {"timeout": -5, "reply_partition": 3}},
            "metadata.timeout",
            "greater_than",
            id="negative-timeout",
        ),
        pytest.param(
            {"metadata": {"priority": "urgent", "reply_partition": 3}},
            "metadata.priority",
            "not_one_of",
            id="bad-priority",
        ),
    ],
)
def test_wrong_field_types_name_the_field(fields: dict[str, Any], field: str, kind: str) -> None:
    bad = undecodable(raw(envelope(**{**RECOVERABLE, **fields}), b"key-1"))
    assert type(bad.error) is ProtocolError
    assert bad.error.message == "envelope is invalid"
    assert [(e["field"], e["type"]) for e in bad.error.details["errors"]] == [(field, kind)]
    assert (bad.correlation_id, bad.reply_partition) == ("req-1", 3)


PYTHON_WORDS = re.compile(
    r"\b(NoneType|dict|int|str|bool|float|model|dictionary|Input should)\b|_type\b(?<!wrong_type)"
)
"""Words of pydantic or Python that the protocol's errors never use."""

MISTYPED = [
    pytest.param({"timeout": "5000"}, "metadata.timeout", "an integer number of milliseconds"),
    pytest.param({"timeout": True}, "metadata.timeout", "an integer number of milliseconds"),
    pytest.param({"timeout": 5000.0}, "metadata.timeout", "an integer number of milliseconds"),
    pytest.param({"reply_partition": "0"}, "metadata.reply_partition", "an integer partition"),
    pytest.param({"reply_partition": False}, "metadata.reply_partition", "an integer partition"),
    pytest.param({"priority": 1}, "metadata.priority", '"low", "normal", "high" or "critical"'),
    pytest.param({"user_id": 42}, "context.user_id", "a string"),
    pytest.param({"session_id": True}, "context.session_id", "a string"),
    pytest.param({"timestamp": 1764633649}, "context.timestamp", "a string"),
    pytest.param({"trace_id": ["t"]}, "context.trace_id", "a string"),
    pytest.param({"capability_id": 7}, "capability_id", "a string"),
    pytest.param({"intent": 0}, "intent", "a string"),
    pytest.param({"id": 123}, "id", "a string"),
    pytest.param({"metadata": ["a"]}, "metadata", "a JSON object"),
]
"""A mistyped field, where it goes (``metadata.*``, ``context.*`` or top level), and what
the error must say was expected."""


def mistyped(fields: dict[str, Any], field: str) -> bytes:
    """A request with ``fields`` put where ``field`` says: in metadata, context or on top."""
    where = field.split(".")[0] if "." in field else None
    if where is None:
        return envelope(**{**RECOVERABLE, **fields})
    nested = {**({"reply_partition": 3} if where == "metadata" else {}), **fields}
    return envelope(**{**RECOVERABLE, where: nested})


def assert_names_field(bad: UndecodableRecord, field: str, expected: str) -> None:
    """One error naming ``field`` by its dotted path, in the protocol's words only."""
    assert type(bad.error) is ProtocolError
    assert bad.error.message == "envelope is invalid"
    [error] = bad.error.details["errors"]
    assert error["field"] == field
    assert expected in error["message"]
    assert expected in error["expected"]
    assert error["type"] == "wrong_type"
    text = bad.error.message + json.dumps(bad.error.details)
    assert PYTHON_WORDS.search(text) is None, text


@pytest.mark.parametrize(("fields", "field", "expected"), MISTYPED)
def test_mistyped_field_is_refused_not_coerced(
    fields: dict[str, Any], field: str, expected: str
) -> None:
    bad = undecodable(raw(mistyped(fields, field), b"key-1"))
    assert_names_field(bad, field, expected)
    assert bad.correlation_id == ("key-1" if field == "id" else "req-1")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"context": {"user_id": 5}}, "context.user_id"),
        ({"correlation_id": 5}, "correlation_id"),
        ({"intent": False}, "intent"),
        ({"metadata": "m"}, "metadata"),
    ],
)
def test_mistyped_heartbeat_field_is_refused(fields: dict[str, Any], field: str) -> None:
    value = envelope(id="hb-1", type="heartbeat", capability_id=..., **fields)
    bad = undecodable(raw(value))
    expected = "a JSON object" if field == "metadata" else "a string"
    assert_names_field(bad, field, expected)


@pytest.mark.parametrize(
    ("context", "metadata", "field", "expected"),
    [
        ("{}", '{"timeout": "5000"}', "metadata.timeout", "an integer number of milliseconds"),
        ("{}", '{"reply_partition": "0"}', "metadata.reply_partition", "an integer partition"),
        ('{"user_id": 5}', "{}", "context.user_id", "a string"),
    ],
)
def test_mistyped_field_in_avro_extra_is_refused(
    context: str, metadata: str, field: str, expected: str
) -> None:
    value = avro_request_with_context_extra(context, metadata)
    assert_names_field(undecodable(raw(value, None, AVRO)), field, expected)


def test_well_typed_fields_and_nulls_are_accepted() -> None:
    value = envelope(
        context={"user_id": None, "trace_id": "t", "tenant": 5},
        metadata={"timeout": 5000, "reply_partition": 0, "priority": "high", "hops": "2"},
    )
    request = decode(raw(value), LIMITS)
    assert isinstance(request, CapabilityRequest)
    assert (request.metadata.timeout, request.metadata.reply_partition) == (5000, 0)
    assert request.context.model_dump()["tenant"] == 5
    assert request.metadata.model_dump()["hops"] == "2"


@pytest.mark.parametrize("doc_id", [123, "", None, "x" * 300, "line\nbreak", True, ["req-1"]])
def test_invalid_id_correlates_by_header_or_key(doc_id: Any) -> None:
    bad = undecodable(raw(envelope(id=doc_id, payload=[]), b"key-1"))
    assert bad.correlation_id == "key-1"
    with_header = raw(envelope(id=doc_id, payload=[]), b"key-1", ((REQUEST_ID_HEADER, b"h-1"),))
    assert undecodable(with_header).correlation_id == "h-1"


def test_overlong_id_is_refused_and_named() -> None:
    bad = undecodable(raw(envelope(id="x" * 300), b"key-1"))
    [error] = bad.error.details["errors"]
    assert (error["field"], error["type"]) == ("id", "string_too_long")
    assert bad.correlation_id == "key-1"


@pytest.mark.parametrize("field", ["payload", "metadata", "context", "correlation_id", "intent"])
def test_heartbeat_with_null_fields_is_answered(field: str) -> None:
    doc = {"version": "1.0", "type": "heartbeat", "id": "hb-1", field: None}
    heartbeat = decode(raw(json.dumps(doc).encode()), LIMITS)
    assert isinstance(heartbeat, Heartbeat)
    assert (heartbeat.id, heartbeat.payload, heartbeat.metadata) == ("hb-1", {}, {})


def test_headers_count_toward_the_record_limit() -> None:
    value = envelope(id="req-1")
    headers = ((REQUEST_ID_HEADER, b"h-1"), ("x-filler", b"h" * 1000))
    bad = undecodable(raw(value, b"key-1", headers), Limits(max_record_bytes=len(value) + 100))
    assert bad.error.error_type is ErrorType.PAYLOAD_TOO_LARGE
    assert bad.error.details["size"] == len(value) + len(REQUEST_ID_HEADER) + 3 + 8 + 1000
    assert bad.correlation_id == "h-1"


@pytest.mark.parametrize("partition", [-1, True, "3", 1.5])
def test_invalid_reply_partition_is_not_recovered(partition: Any) -> None:
    bad = undecodable(raw(envelope(version="9.0", metadata={"reply_partition": partition})))
    assert bad.reply_partition is None


def test_unsupported_content_type_is_refused_before_parsing() -> None:
    bad = undecodable(raw(envelope(), b"key-1", (("content-type", b"text/plain"),)))
    assert type(bad.error) is ProtocolError
    assert bad.error.message == 'unsupported content-type "text/plain"'
    assert bad.error.details == {"supported": ["application/json", "application/avro"]}
    assert bad.correlation_id == "key-1"


def test_json_sent_as_avro_is_undecodable() -> None:
    bad = undecodable(raw(envelope(), b"key-1", AVRO))
    assert type(bad.error) is ProtocolError
    assert bad.error.message.startswith("value is not valid Avro: unknown magic byte")


def test_avro_answer_sent_as_request_is_refused() -> None:
    response = CapabilityResponse(correlation_id="r", capability_id="x", payload={})
    value = AvroCodec().encode("response", response.model_dump(mode="json"))
    bad = undecodable(raw(value, b"key-1"))
    assert bad.error.message == "a response record cannot be sent to the requests topic"
    assert bad.error.details == {"accepted": ["heartbeat", "request"]}


@pytest.mark.parametrize(
    ("payload", "limits", "details"),
    [
        pytest.param(
            {"a": {"b": {"c": {}}}},
            Limits(max_depth=3),
            {"field": "payload.a.b.c", "max_depth": 3},
            id="too-deep",
        ),
        pytest.param(
            {"list": [[1], [1, 2, 3, 4]]},
            Limits(max_width=3),
            {"field": "payload.list[1]", "max_width": 3},
            id="too-wide",
        ),
    ],
)
def test_payload_shape_limits(payload: dict[str, Any], limits: Limits, details: Any) -> None:
    bad = undecodable(raw(envelope(id="req-1", payload=payload)), limits)
    assert bad.error.error_type is ErrorType.PAYLOAD_TOO_LARGE
    assert bad.error.details == details
    assert bad.correlation_id == "req-1"


@pytest.mark.parametrize("where", ["payload", "context"])
def test_non_finite_number_is_a_protocol_error(where: str) -> None:
    value = envelope(id="req-1").replace(b"}", f', "{where}": {{"n": [1e400]}}}}'.encode())
    bad = undecodable(raw(value))
    assert type(bad.error) is ProtocolError
    assert bad.error.message == f"{where}.n[0] holds a number out of range"


@pytest.mark.parametrize("version", ["1" * 5000 + ".0", "1." + "0" * 5000])
def test_version_with_thousands_of_digits_is_undecodable(version: str) -> None:
    bad = undecodable(raw(envelope(version=version), b"key-1"), Limits())
    assert type(bad.error) is ProtocolError
    assert bad.error.message.startswith("version must be a string MAJOR.MINOR, got '1")
    assert bad.correlation_id == "key-1"


@pytest.mark.parametrize("version", ["1.0\n", "1.0 ", " 1.0", "1.0\x00"])
def test_version_with_anything_around_it_is_undecodable(version: str) -> None:
    bad = undecodable(raw(envelope(id="req-1", version=version)), Limits())
    assert type(bad.error) is ProtocolError
    assert bad.error.message.startswith("version must be a string MAJOR.MINOR")
    assert bad.correlation_id == "req-1"


def avro_request_with_context_extra(extra: str, metadata_extra: str = "{}") -> bytes:
    """An Avro request as a non-PacketFlow producer may write it: both ``extra`` as given."""
    datum: dict[str, Any] = {
        "version": "1.0",
        "id": "req-1",
        "intent": "",
        "context": {
            "user_id": None,
            "session_id": None,
            "timestamp": None,
            "trace_id": None,
            "extra": extra,
        },
        "type": "capability_request",
        "capability_id": "x",
        "payload": "{}",
        "metadata": {
            "priority": "normal",
            "timeout": None,
            "reply_partition": None,
            "extra": metadata_extra,
        },
    }
    out = io.BytesIO()
    out.write(struct.pack(">bI", 0, LOCAL_SCHEMA_IDS["request"]))
    fastavro.schemaless_writer(out, fastavro.parse_schema(load_schema("request")), datum)
    return out.getvalue()


def test_avro_request_decodes() -> None:
    request = decode(raw(avro_request_with_context_extra('{"tenant": "acme"}'), None, AVRO), LIMITS)
    assert isinstance(request, CapabilityRequest)
    assert (request.id, request.capability_id) == ("req-1", "x")
    assert request.context.model_dump()["tenant"] == "acme"


@pytest.mark.parametrize("extra", ["null", "5", "[1]"])
def test_avro_context_extra_that_is_not_an_object_is_undecodable(extra: str) -> None:
    bad = undecodable(raw(avro_request_with_context_extra(extra), b"key-1"))
    assert type(bad.error) is ProtocolError
    assert bad.error.message.startswith("value is not valid Avro")
    assert bad.correlation_id == "key-1"


def test_json_content_type_without_space_is_accepted() -> None:
    headers = (("content-type", b"application/json;charset=utf-8"),)
    assert isinstance(decode(raw(envelope(), None, headers), LIMITS), CapabilityRequest)


# --- good input -----------------------------------------------------------------------------


def test_minimal_request_decodes_with_defaults() -> None:
    request = decode(raw(envelope()), LIMITS)
    assert isinstance(request, CapabilityRequest)
    assert (request.version, request.capability_id, request.intent) == ("1.0", "x", "")
    assert len(request.id) == 32
    assert request.payload == {}
    assert request.context.model_dump() == {
        "user_id": None,
        "session_id": None,
        "timestamp": None,
        "trace_id": None,
    }
    assert request.metadata.model_dump() == {
        "priority": "normal",
        "timeout": None,
        "reply_partition": None,
    }


def test_newer_minor_version_is_accepted() -> None:
    assert decode(raw(envelope(version="1.7")), LIMITS).version == "1.7"


def test_unknown_top_level_fields_are_ignored() -> None:
    request = decode(raw(envelope(shiny_new_field={"a": 1}, priority=3)), LIMITS)
    assert "shiny_new_field" not in request.model_dump()


def test_unknown_context_and_metadata_fields_are_kept() -> None:
    value = envelope(context={"user_id": "u1", "tenant": "acme"}, metadata={"hops": 2})
    request = decode(raw(value), LIMITS)
    assert isinstance(request, CapabilityRequest)
    assert request.context.model_dump()["tenant"] == "acme"
    assert request.metadata.model_dump()["hops"] == 2


@pytest.mark.parametrize(
    ("key", "headers", "expected"),
    [(b"key-1", (), "key-1"), (b"key-1", ((REQUEST_ID_HEADER, b"hdr-1"),), "hdr-1")],
)
def test_missing_id_is_filled_from_header_or_key(
    key: bytes, headers: tuple[Header, ...], expected: str
) -> None:
    assert decode(raw(envelope(), key, headers), LIMITS).id == expected


def test_envelope_id_wins_over_key() -> None:
    assert decode(raw(envelope(id="req-1"), b"key-1"), LIMITS).id == "req-1"


@pytest.mark.parametrize(
    "content_type", [b"application/json", b"Application/JSON; charset=UTF-8", b" application/json "]
)
def test_json_content_types_are_accepted(content_type: bytes) -> None:
    record = raw(envelope(), None, (("content-type", content_type),))
    assert isinstance(decode(record, LIMITS), CapabilityRequest)


def test_control_characters_are_removed_from_payload_and_context() -> None:
    value = envelope(
        payload={"na\u0000me": "A\u0007da\tL\u009bove\nlace\r"},
        context={"user_id": "u\u001b1", "tenant": "ac\u007fme"},
    )
    request = decode(raw(value), LIMITS)
    assert isinstance(request, CapabilityRequest)
    assert request.payload == {"name": "Ada\tLove\nlace\r"}
    assert request.context.user_id == "u1"
    assert request.context.model_dump()["tenant"] == "acme"


def test_big_integers_survive_decoding() -> None:
    assert payload_of(envelope(payload={"n": 2**80, "m": -(2**70)})) == {"n": 2**80, "m": -(2**70)}


def test_heartbeat_decodes() -> None:
    value = json.dumps({"version": "1.0", "type": "heartbeat", "id": "hb-1"}).encode()
    beat = decode(raw(value), LIMITS)
    assert isinstance(beat, Heartbeat)
    assert beat.id == "hb-1"


# --- fuzz -----------------------------------------------------------------------------------

SEEDS: list[dict[str, Any]] = [
    {"version": "1.0", "type": "capability_request", "capability_id": "echo"},
    {
        "version": "1.0",
        "type": "capability_request",
        "capability_id": "strict",
        "payload": {"n": 1},
    },
    {"version": "1.0", "type": "capability_request", "capability_id": "boom", "id": "req-1"},
    {
        "version": "1.1",
        "type": "capability_request",
        "capability_id": "echo",
        "id": "req-2",
        "context": {"user_id": "u1", "tenant": "acme"},
        "metadata": {"timeout": 1000, "reply_partition": 0, "hops": 1},
        "payload": {"n": "x", "deep": {"a": [1, {"b": None}]}},
    },
    {"version": "1.0", "type": "heartbeat", "id": "hb-1"},
]
ODD_VALUES = st.sampled_from(
    [
        *(None, True, 0, -1, 2**70, 1.5, 1e308, "", "1.0", "2.0", "1.x", "heartbeat"),
        *("capability_request", "capability_response", "echo", "strict", "boom", "\u0000", "é"),
        *([], [1], {}, {"n": 1}, {"n": "1"}, {"timeout": -1}, {"reply_partition": 3}, "x" * 300),
    ]
)
FIELDS = ["version", "type", "id", "capability_id", "payload", "metadata", "context", "intent"]


@st.composite
def mutated_envelopes(draw: st.DrawFn) -> bytes:
    """A seed envelope with fields replaced or removed, then maybe cut short or overwritten."""
    doc = dict(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 3))):
        field = draw(st.sampled_from(FIELDS))
        if draw(st.booleans()):
            doc.pop(field, None)
        else:
            doc[field] = draw(ODD_VALUES)
    data = bytearray(json.dumps(doc).encode())
    mutation = draw(st.sampled_from(["none", "none", "truncate", "overwrite"]))
    if mutation == "truncate":
        del data[draw(st.integers(0, len(data))) :]
    elif mutation == "overwrite":
        for _ in range(draw(st.integers(1, 3))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


def remember(invocation: EffectInvocation) -> dict[str, Any]:
    return {"n": invocation.payload.get("n")}


@capability(intent="Echo", provides=["echo"], effects=["audit_log", Custom("seen", remember)])
def echo(payload: Any, ctx: CallContext) -> dict[str, Any]:
    return {"echo": payload.model_dump()}


@capability(intent="Needs an int", requires=["n"], provides=["n"])
def strict(payload: Any, ctx: CallContext) -> dict[str, Any]:
    return {"n": int(payload.n)}


@capability(intent="Always fails")
def boom(payload: Any, ctx: CallContext) -> None:
    raise RuntimeError("boom")


CODEC = AvroCodec()
HEADER_SETS: list[tuple[Header, ...]] = [
    (),
    (),
    ((REQUEST_ID_HEADER, b"hdr-1"),),
    ((REQUEST_ID_HEADER, b"\xff"), ("traceparent", b"00-abc-def-01")),
    (("content-type", b"application/json"),),
    (("content-type", b"application/avro"), (REQUEST_ID_HEADER, b"hdr-1")),
    (("content-type", b"text/plain"),),
]


def read(record: Outbound) -> dict[str, Any]:
    """An answer's value, in the encoding its content-type names (answers mirror the request)."""
    if ("content-type", b"application/avro") in record.headers:
        return CODEC.decode(record.value)[1]
    doc: dict[str, Any] = json.loads(record.value)
    return doc


def test_fuzz_every_record_is_decoded_or_dead_lettered_and_answered_once() -> None:
    tester = CapabilityTester([echo, strict, boom])

    @settings(
        max_examples=10_000,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        value=st.binary(max_size=64) | mutated_envelopes(),
        key=st.sampled_from([None, b"", b"key-1", b"\xff\x00", b"k" * 300]),
        headers=st.sampled_from(HEADER_SETS),
    )
    def check(value: bytes, key: bytes | None, headers: tuple[Header, ...]) -> None:
        record = raw(value, key, headers)
        outcome: Decoded | PacketFlowError
        try:
            outcome = decode(record, Limits(max_record_bytes=512))
        except UndecodableRecord as bad:
            outcome = bad.error
        assert isinstance(outcome, CapabilityRequest | Heartbeat) or outcome.error_type in {
            ErrorType.PROTOCOL_ERROR,
            ErrorType.UNSUPPORTED_VERSION,
            ErrorType.PAYLOAD_TOO_LARGE,
        }

        run = runner.run(tester.send_raw(value, key=key, headers=headers))
        responses = [read(r) for r in run.records if r.topic == run.topics.responses]
        errors = [read(r) for r in run.records if r.topic == run.topics.errors]
        outcomes = [a.outcome for a in run.audit]
        assert all(a.worker == "tester" for a in run.audit)
        if run.dead_letters:
            [dead] = run.dead_letters
            assert (dead.value, dead.key) == (value, key)
            assert dead.headers[: len(headers)] == headers
            assert not responses
            assert len(errors) <= 1
            assert outcomes == ["dead_letter"]
        elif responses and responses[0]["type"] == "heartbeat":
            # Heartbeats currently get no audit record: see test_process's strict xfail.
            assert len(responses) == 1
            assert not errors
            assert outcomes in ([], ["heartbeat"])
        else:
            assert len(responses) + len(errors) == 1
            assert outcomes == (["ok"] if responses else ["error"])

    with asyncio.Runner() as runner:
        check()


def test_one_pass_decoding_of_clean_json_equals_the_full_path() -> None:
    """Clean JSON requests skip the dict step; what comes out must not differ in any way."""
    from packetflow.pipeline import decode as step

    def full_path(record: RawRecord, limits: Limits) -> Decoded | str:
        try:
            if step.encoding_of(record) is not step.Encoding.JSON:  # Avro: one path only
                return decode(record, limits)
            doc = step._from_json(record.value or b"", record)
            return step._envelope(doc, record, limits, step.json_is_clean(record.value, limits))
        except UndecodableRecord as bad:
            return f"{bad.error.error_type}: {bad.error.message} {bad.correlation_id}"

    @settings(max_examples=3_000, deadline=None, database=None)
    @given(
        value=mutated_envelopes()
        | st.sampled_from(
            [
                envelope(id="r1", payload={"x": float("nan")}),
                envelope(id="r1", payload={"x": "NaN", "y": [1, 2.5, None, True]}),
                envelope(id=7),
                envelope(id="r1", version="2.0"),
                envelope(id="r1", version=...),
                envelope(id="r1", type=...),
                envelope(id="r1", metadata={"reply_partition": 3, "extra": {"a": 1}}),
                envelope(id="r1", context={"user_id": "u", "tenant": "t"}),
                b'{"version": "1.0", "type": "capability_request", "capability_id": "a", '
                b'"capability_id": "b", "id": "dup"}',
            ]
        ),
        key=st.sampled_from([None, b"key-1"]),
    )
    def check(value: bytes, key: bytes | None) -> None:
        record = raw(value, key, ((REQUEST_ID_HEADER, b"from-header"),) if key else ())
        try:
            fast: Decoded | str = decode(record, LIMITS)
        except UndecodableRecord as bad:
            fast = f"{bad.error.error_type}: {bad.error.message} {bad.correlation_id}"
        slow = full_path(record, LIMITS)
        if isinstance(fast, str) or isinstance(slow, str):
            assert fast == slow
        else:
            assert type(fast) is type(slow)
            assert fast.model_dump() == slow.model_dump() or "id" not in json.loads(value)

    check()
    assert step._clean_request(envelope(id="r1")) is not None  # the one-pass path is taken
    for fallback in (
        envelope(id="r1", version="2.0"),
        envelope(id="r1", version="01.0"),
        envelope(),
        envelope(id="r1", type=...),
    ):
        assert step._clean_request(fallback) is None
