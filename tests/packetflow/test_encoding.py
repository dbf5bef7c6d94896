"""JSON or Avro: how a record's encoding is recognised, and that both carry every record exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from packetflow.avro import LOCAL_SCHEMA_IDS
from packetflow.encoding import (
    AVRO_CONTENT_TYPES,
    JSON_CONTENT_TYPES,
    Encoder,
    Encoding,
    UnknownContentType,
    encoding_of,
)
from packetflow.envelope import CapabilityRequest
from packetflow.records import Header, RawRecord
from tests.packetflow.test_avro import PROPERTY, SCHEMA_NAME, records

ENCODER = Encoder()


def record(value: bytes | None, *headers: Header) -> RawRecord:
    return RawRecord("packetflow.requests", 0, 0, None, value, headers)


# --- encoding_of ----------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", sorted(JSON_CONTENT_TYPES))
def test_json_content_type_header_wins_over_a_leading_zero_byte(content_type: bytes) -> None:
    assert encoding_of(record(b"\x00\x00\x00\x00\x01", ("content-type", content_type))) == (
        Encoding.JSON
    )


@pytest.mark.parametrize("content_type", sorted(AVRO_CONTENT_TYPES))
def test_avro_content_type_header_wins_over_json_looking_bytes(content_type: bytes) -> None:
    assert encoding_of(record(b'{"version": "1.0"}', ("content-type", content_type))) == (
        Encoding.AVRO
    )


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        (b"Application/JSON", Encoding.JSON),
        (b"  application/json  ", Encoding.JSON),
        (b"APPLICATION/JSON; CHARSET=UTF-8", Encoding.JSON),
        (b"application/json;charset=utf-8", Encoding.JSON),
        (b"application/avro; version=1", Encoding.AVRO),
        (b"AVRO/BINARY", Encoding.AVRO),
        (b" application/vnd.apache.avro+binary\t", Encoding.AVRO),
    ],
)
def test_content_type_is_matched_ignoring_case_spaces_and_parameters(
    content_type: bytes, expected: Encoding
) -> None:
    assert encoding_of(record(b"{}", ("content-type", content_type))) is expected


def test_the_last_content_type_header_counts() -> None:
    both = record(b"{}", ("content-type", b"application/json"), ("content-type", b"avro/binary"))
    assert encoding_of(both) is Encoding.AVRO


def test_other_headers_do_not_matter() -> None:
    other = record(b"\x00", ("packetflow-type", b"application/json"), ("x-format", b"json"))
    assert encoding_of(other) is Encoding.AVRO


@pytest.mark.parametrize(
    "content_type",
    [b"text/plain", b"application/xml", b"", b"application/protobuf", b"\xff\xfe", b"x" * 500],
)
def test_unknown_content_type_is_refused(content_type: bytes) -> None:
    with pytest.raises(UnknownContentType) as info:
        encoding_of(record(b"{}", ("content-type", content_type)))
    message = str(info.value)
    assert message.startswith("unsupported content-type ")
    assert "b'" not in message
    assert 'b"' not in message
    assert len(message) < 120


@given(value=st.binary(min_size=1))
def test_without_header_a_leading_zero_byte_means_avro(value: bytes) -> None:
    expected = Encoding.AVRO if value[0] == 0 else Encoding.JSON
    assert encoding_of(record(value)) is expected


@pytest.mark.parametrize("value", [b"", None])
def test_without_header_an_empty_value_is_json(value: bytes | None) -> None:
    assert encoding_of(record(value)) is Encoding.JSON


def test_what_packetflow_writes_is_recognised_without_the_header() -> None:
    request = CapabilityRequest(capability_id="x")
    assert encoding_of(record(ENCODER.encode("request", request, Encoding.JSON))) is Encoding.JSON
    assert encoding_of(record(ENCODER.encode("request", request, Encoding.AVRO))) is Encoding.AVRO


@pytest.mark.parametrize(
    ("encoding", "header"),
    [
        (Encoding.JSON, ("content-type", b"application/json")),
        (Encoding.AVRO, ("content-type", b"application/avro")),
    ],
)
def test_written_content_type_is_one_that_is_read(encoding: Encoding, header: Header) -> None:
    assert encoding.header == header
    assert encoding_of(record(b"{}", encoding.header)) is encoding


# --- both encodings carry every record exactly ---------------------------------------------


@PROPERTY
@given(model=records)
def test_json_round_trip_is_lossless(model: BaseModel) -> None:
    data = ENCODER.encode(SCHEMA_NAME[type(model)], model, Encoding.JSON)
    assert encoding_of(record(data, Encoding.JSON.header)) is Encoding.JSON
    assert type(model).model_validate_json(data) == model


@PROPERTY
@given(model=records)
def test_avro_round_trip_is_lossless(model: BaseModel) -> None:
    name = SCHEMA_NAME[type(model)]
    data = ENCODER.encode(name, model, Encoding.AVRO)
    assert encoding_of(record(data)) is Encoding.AVRO
    assert data[:5] == b"\x00" + LOCAL_SCHEMA_IDS[name].to_bytes(4, "big")
    decoded_name, doc = ENCODER.codec.decode(data)
    assert decoded_name == name
    assert type(model).model_validate(doc) == model


def test_big_integers_beyond_64_bits_survive_both_encodings() -> None:
    payload = {"big": 2**64 + 1, "negative": -(2**100), "nested": [{"n": 10**30}]}
    request = CapabilityRequest(capability_id="x", payload=payload)
    as_json = CapabilityRequest.model_validate_json(
        ENCODER.encode("request", request, Encoding.JSON)
    )
    _, doc = ENCODER.codec.decode(ENCODER.encode("request", request, Encoding.AVRO))
    assert as_json.payload == payload
    assert doc["payload"] == payload
