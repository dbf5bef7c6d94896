"""AvroCodec: the Confluent wire format, lossless for any record, and clear about bad bytes.

The strategies here (one per record model, with arbitrary JSON in every free field)
are also used by test_encoding.py.
"""

from __future__ import annotations

import io
import json
import struct
import warnings
from typing import Any

import avro.errors
import avro.io
import avro.schema
import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from packetflow.avro import LOCAL_SCHEMA_IDS, MAGIC_BYTE, AvroCodec, AvroDecodeError, load_schema
from packetflow.effects import EffectRecord
from packetflow.envelope import (
    CapabilityError,
    CapabilityRequest,
    CapabilityResponse,
    Context,
    ErrorBody,
    Heartbeat,
    RequestMetadata,
)
from packetflow.records import AuditRecord
from packetflow.testing import CapabilityTester
from streams import system_health

CODEC = AvroCodec()
SCHEMA_NAME: dict[type[BaseModel], str] = {
    CapabilityRequest: "request",
    CapabilityResponse: "response",
    CapabilityError: "error",
    Heartbeat: "heartbeat",
    EffectRecord: "effect",
    AuditRecord: "audit",
}

# --- strategies -----------------------------------------------------------------------------

# Any JSON value: integers far beyond 64 bits, every finite float, any unicode (no lone
# surrogates: they are not UTF-8), nesting.
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**64, max_value=2**200)
    | st.integers(min_value=-(2**200), max_value=-(2**63) - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(), json_values, max_size=5)
texts = st.text(max_size=40)
optional_texts = st.none() | texts


def extras(declared: set[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Unknown fields of a record that keeps them (one may be named ``extra``)."""
    names = st.just("extra") | st.text(max_size=12).filter(lambda k: k not in declared)
    return st.dictionaries(names, json_values, max_size=3)


@st.composite
def contexts(draw: st.DrawFn) -> Context:
    declared = set(Context.model_fields)
    fields = {name: draw(optional_texts) for name in declared}
    return Context(**fields, **draw(extras(declared)))


@st.composite
def request_metadata(draw: st.DrawFn) -> RequestMetadata:
    declared = set(RequestMetadata.model_fields)
    return RequestMetadata(
        priority=draw(st.sampled_from(["low", "normal", "high", "critical"])),
        # the schema's ranges: timeout is an Avro long, reply_partition an Avro int
        timeout=draw(st.none() | st.integers(1, 2**63 - 1)),
        reply_partition=draw(st.none() | st.integers(0, 2**31 - 1)),
        **draw(extras(declared)),
    )


ids = st.text(min_size=1, max_size=256)
versions = st.from_regex(r"\A1\.[0-9]{1,3}\Z")

requests = st.builds(
    CapabilityRequest,
    version=versions,
    id=ids,
    intent=texts,
    context=contexts(),
    capability_id=ids,
    payload=json_objects,
    metadata=request_metadata(),
)
responses = st.builds(
    CapabilityResponse,
    id=ids,
    intent=texts,
    context=contexts(),
    correlation_id=texts,
    capability_id=texts,
    payload=json_objects,
    metadata=json_objects,
)
errors = st.builds(
    CapabilityError,
    id=ids,
    intent=texts,
    context=contexts(),
    correlation_id=optional_texts,
    capability_id=optional_texts,
    payload=st.builds(
        lambda body: {"error": body},
        st.builds(ErrorBody, type=texts, message=texts, details=json_objects),
    ),
    metadata=json_objects,
)
heartbeats = st.builds(
    Heartbeat,
    id=ids,
    context=contexts(),
    correlation_id=optional_texts,
    payload=json_objects,
    metadata=json_objects,
)
effects = st.builds(
    EffectRecord,
    id=texts,
    kind=texts,
    name=texts,
    status=st.sampled_from(["ok", "failed"]),
    capability_id=texts,
    correlation_id=texts,
    trace_id=optional_texts,
    user_id=optional_texts,
    timestamp=texts,
    data=json_objects,
)
audits = st.builds(
    AuditRecord,
    id=texts,
    timestamp=texts,
    outcome=st.sampled_from(["ok", "error", "dead_letter", "heartbeat"]),
    correlation_id=optional_texts,
    capability_id=optional_texts,
    user_id=optional_texts,
    session_id=optional_texts,
    trace_id=optional_texts,
    error_type=optional_texts,
    error_message=optional_texts,
    duration_ms=st.floats(allow_nan=False, allow_infinity=False),
    worker=texts,
    source=json_objects,
    payload=st.none() | json_objects,
)
records: st.SearchStrategy[BaseModel] = st.one_of(
    requests, responses, errors, heartbeats, effects, audits
)

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def frame(schema_id: int, body: bytes, magic: int = MAGIC_BYTE) -> bytes:
    return struct.pack(">bI", magic, schema_id) + body


def avro_body(name: str, datum: dict[str, Any]) -> bytes:
    """The Avro binary body of an already Avro-shaped datum (json fields as strings)."""
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(load_schema(name)), datum)
    return out.getvalue()


def request_datum(**changes: Any) -> dict[str, Any]:
    """An Avro request datum with json fields as strings, as any Avro library would write it."""
    datum: dict[str, Any] = {
        "version": "1.0",
        "id": "req-1",
        "intent": "",
        "context": {
            "user_id": "u1",
            "session_id": None,
            "timestamp": None,
            "trace_id": None,
            "extra": "{}",
        },
        "type": "capability_request",
        "capability_id": "system_health",
        "payload": "{}",
        "metadata": {"priority": "normal", "timeout": None, "reply_partition": None, "extra": "{}"},
    }
    for path, value in changes.items():
        target = datum
        *parents, last = path.split("__")
        for p in parents:
            target = target[p]
        target[last] = value
    return datum


VALID = frame(LOCAL_SCHEMA_IDS["request"], avro_body("request", request_datum()))


# --- bad input ------------------------------------------------------------------------------


def decode_error(data: bytes) -> str:
    with pytest.raises(AvroDecodeError) as info:
        CODEC.decode(data)
    return str(info.value)


def test_the_valid_example_decodes() -> None:
    """The baseline the bad inputs below are made from."""
    name, doc = CODEC.decode(VALID)
    assert name == "request"
    assert doc["context"] == {
        "user_id": "u1",
        "session_id": None,
        "timestamp": None,
        "trace_id": None,
    }


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x00\x00\x00\x01"], ids=len)
def test_too_short_for_the_header(data: bytes) -> None:
    assert decode_error(data) == f"{len(data)} bytes is too short for the Avro wire format"


@pytest.mark.parametrize("magic", [1, 0x7B, -1])
def test_wrong_magic_byte(magic: int) -> None:
    message = decode_error(frame(1, VALID[5:], magic=magic))
    assert message == f"unknown magic byte {magic:#04x}, expected 0x00"


@pytest.mark.parametrize("schema_id", [0, 8, 99, 2**32 - 1])
def test_unknown_schema_id_lists_the_known_ones(schema_id: int) -> None:
    message = decode_error(frame(schema_id, VALID[5:]))
    assert message == f"unknown schema id {schema_id}; known: [1, 2, 3, 4, 5, 6, 7]"


@pytest.mark.parametrize("cut", [6, len(VALID) // 2, len(VALID) - 1])
def test_truncated_body(cut: int) -> None:
    assert (
        decode_error(VALID[:cut]) == "not a valid request record: the value ends before the record"
    )


def test_header_without_body() -> None:
    assert decode_error(VALID[:5]) == "not a valid request record: the value ends before the record"


@pytest.mark.parametrize("extra", [b"\x00", b"\x00\x00\x00", b"garbage"])
def test_trailing_bytes_are_refused(extra: bytes) -> None:
    assert decode_error(VALID + extra) == f"{len(extra)} trailing bytes"


def test_body_of_another_schema_is_not_taken_for_this_one() -> None:
    """A request body framed with the error schema's id does not decode as an error."""
    message = decode_error(frame(LOCAL_SCHEMA_IDS["error"], VALID[5:]))
    assert message.startswith("not a valid error record: ")


@pytest.mark.parametrize(
    "field", ["payload", "context__extra", "metadata__extra"], ids=lambda f: f.replace("__", ".")
)
@pytest.mark.parametrize("text", ["{not json", "", '{"a": 1} trailing', "{'a': 1}"])
def test_json_field_that_is_not_json(field: str, text: str) -> None:
    data = frame(1, avro_body("request", request_datum(**{field: text})))
    assert decode_error(data).startswith("a json field of request is not JSON: ")


@pytest.mark.parametrize("text", ["null", "5", "true", "NaN", '"acme"', '[["tenant", "acme"]]'])
def test_extra_field_that_is_json_but_not_an_object(text: str) -> None:
    data = frame(1, avro_body("request", request_datum(context__extra=text)))
    assert decode_error(data).startswith("'extra' must hold a JSON object, not ")


async def test_avro_request_with_non_object_extra_is_dead_lettered() -> None:
    """Not a crash of the worker's request path: a dead letter, and an answer in Avro."""
    value = frame(1, avro_body("request", request_datum(id="bad-extra", context__extra="null")))
    run = await CapabilityTester([system_health]).send_raw(value, key=b"bad-extra")
    [dead] = run.dead_letters
    assert (dead.key, dead.value) == (b"bad-extra", value)
    [answer] = [r for r in run.records if r.topic == run.topics.errors]
    name, doc = CODEC.decode(answer.value)  # answered in the request's encoding
    assert (name, doc["correlation_id"]) == ("error", "bad-extra")
    assert doc["payload"]["error"]["type"] == "protocol_error"
    assert [a.outcome for a in run.audit] == ["dead_letter"]


# --- the wire format ------------------------------------------------------------------------


@PROPERTY
@given(record=records)
def test_every_record_is_framed_with_magic_byte_and_its_schema_id(record: BaseModel) -> None:
    name = SCHEMA_NAME[type(record)]
    data = CODEC.encode(name, record.model_dump(mode="json"))
    assert data[0] == 0
    assert int.from_bytes(data[1:5], "big") == LOCAL_SCHEMA_IDS[name]


@PROPERTY
@given(record=records)
def test_codec_round_trip_is_lossless(record: BaseModel) -> None:
    name = SCHEMA_NAME[type(record)]
    decoded_name, doc = CODEC.decode(CODEC.encode(name, record.model_dump(mode="json")))
    assert decoded_name == name
    assert type(record).model_validate(doc) == record


def test_big_integers_and_unicode_survive_exactly() -> None:
    payload = {"n": 2**70, "m": -(2**100) + 1, "s": "Zoë \u2028 \U0001f600 \x00", "f": 0.1}
    request = CapabilityRequest(capability_id="x", payload={"deep": [payload, {"p": payload}]})
    _, doc = CODEC.decode(CODEC.encode("request", request.model_dump(mode="json")))
    assert doc["payload"] == {"deep": [payload, {"p": payload}]}
    assert type(doc["payload"]["deep"][0]["n"]) is int


def test_unknown_field_named_extra_survives_avro() -> None:
    context = Context(extra="kept", tenant="acme")
    metadata = RequestMetadata(extra={"hops": 2})
    request = CapabilityRequest(capability_id="x", context=context, metadata=metadata)
    _, doc = CODEC.decode(CODEC.encode("request", request.model_dump(mode="json")))
    assert doc["context"]["extra"] == "kept"
    assert doc["metadata"]["extra"] == {"hops": 2}
    assert CapabilityRequest.model_validate(doc) == request


# --- interoperability with the official Avro library ----------------------------------------
#
# An independent reader and writer: the reference implementation's DatumReader/DatumWriter,
# with json fields read and written by the standard library's json module.


def _official_schema(name: str) -> avro.schema.Schema:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", avro.errors.IgnoredLogicalType)
        return avro.schema.parse(json.dumps(load_schema(name)))


OFFICIAL = {name: _official_schema(name) for name in LOCAL_SCHEMA_IDS}


def _is_json(t: Any) -> bool:
    return isinstance(t, dict) and t.get("logicalType") == "json"


def from_datum(t: Any, value: Any) -> Any:
    """What an Avro datum means as JSON, per the schema type ``t``."""
    if _is_json(t):
        return json.loads(value)
    if isinstance(t, list):
        return None if value is None else from_datum(next(x for x in t if x != "null"), value)
    if isinstance(t, dict) and t.get("type") == "record":
        out = {f["name"]: from_datum(f["type"], value[f["name"]]) for f in t["fields"]}
        extra = out.pop("extra", {})
        return {**out, **extra}
    return value


def to_datum(t: Any, value: Any) -> Any:
    """The Avro datum of a JSON value, per the schema type ``t``."""
    if _is_json(t):
        return json.dumps(value)
    if isinstance(t, list):
        return None if value is None else to_datum(next(x for x in t if x != "null"), value)
    if isinstance(t, dict) and t.get("type") == "record":
        out = {f["name"]: to_datum(f["type"], value.get(f["name"])) for f in t["fields"]}
        if "extra" in out:  # every field the schema does not declare, even one named "extra"
            declared = {f["name"] for f in t["fields"]} - {"extra"}
            out["extra"] = json.dumps({k: v for k, v in value.items() if k not in declared})
        return out
    return value


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=records)
def test_official_avro_library_reads_what_the_codec_writes(record: BaseModel) -> None:
    name = SCHEMA_NAME[type(record)]
    data = CODEC.encode(name, record.model_dump(mode="json"))
    datum = avro.io.DatumReader(OFFICIAL[name]).read(avro.io.BinaryDecoder(io.BytesIO(data[5:])))
    assert type(record).model_validate(from_datum(load_schema(name), datum)) == record


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=records)
def test_codec_reads_what_the_official_avro_library_writes(record: BaseModel) -> None:
    name = SCHEMA_NAME[type(record)]
    body = io.BytesIO()
    datum = to_datum(load_schema(name), record.model_dump(mode="json"))
    avro.io.DatumWriter(OFFICIAL[name]).write(datum, avro.io.BinaryEncoder(body))
    decoded_name, doc = CODEC.decode(frame(LOCAL_SCHEMA_IDS[name], body.getvalue()))
    assert decoded_name == name
    assert type(record).model_validate(doc) == record
