"""Step 1: bytes to envelope. Anything that is not a valid envelope is undecodable.

A record is JSON or Avro (see :func:`packetflow.encoding.encoding_of`); both
end as the same dict, checked the same way: size, version, type, fields,
then the payload and context limits and sanitization.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pydantic import ValidationError
from pydantic_core import from_json

from packetflow.avro import AvroCodec, AvroDecodeError
from packetflow.encoding import Encoding, UnknownContentType, encoding_of
from packetflow.envelope import SUPPORTED_VERSIONS, CapabilityRequest, Heartbeat, MessageType
from packetflow.errors import (
    PacketFlowError,
    PayloadTooLarge,
    ProtocolError,
    UnsupportedVersion,
)
from packetflow.pipeline.field_errors import envelope_details
from packetflow.pipeline.sanitize import Limits, json_is_clean, sanitize
from packetflow.records import RawRecord

__all__ = [
    "REQUEST_ID_HEADER",
    "Decoded",
    "Limits",
    "UndecodableRecord",
    "decode",
    "reply_encoding",
]

REQUEST_ID_HEADER = "packetflow-request-id"
"""Header a client may set so that even an undecodable request can be answered."""

_VERSION = re.compile(r"(\d{1,6})\.(\d{1,6})\Z")
_MAJORS = frozenset(int(v.split(".")[0]) for v in SUPPORTED_VERSIONS)
_ONE_PASS_VERSION = re.compile(rf"(?:{'|'.join(map(str, sorted(_MAJORS)))})\.\d{{1,6}}\Z")
"""A version the one-pass path takes as it is; any other goes the full way (which may accept it)."""
_GIVEN = frozenset({"type", "version", "id"})
_REQUEST = CapabilityRequest.__pydantic_validator__  # model_validate_json without its wrapper
_AVRO_SCHEMAS = {"request": MessageType.CAPABILITY_REQUEST, "heartbeat": MessageType.HEARTBEAT}

Decoded = CapabilityRequest | Heartbeat


class UndecodableRecord(Exception):
    """A record that is not a valid envelope, with what could still be recovered."""

    def __init__(
        self,
        error: PacketFlowError,
        correlation_id: str | None = None,
        reply_partition: int | None = None,
        capability_id: str | None = None,
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.correlation_id = correlation_id
        self.reply_partition = reply_partition
        self.capability_id = capability_id


@cache
def _default_codec() -> AvroCodec:
    return AvroCodec()


def reply_encoding(record: RawRecord) -> Encoding:
    """The encoding to answer ``record`` in: its own, or JSON if it has none we know."""
    try:
        return encoding_of(record)
    except UnknownContentType:
        return Encoding.JSON


def decode(record: RawRecord, limits: Limits, codec: AvroCodec | None = None) -> Decoded:
    """Decode a consumed record, or raise :class:`UndecodableRecord`."""
    value = record.value
    if value is None:
        raise UndecodableRecord(ProtocolError("record has no value"), _header_id(record))
    size = len(value)
    for name, data in record.headers:
        size += len(name) + (len(data) if data else 0)
    if size > limits.max_record_bytes:
        raise UndecodableRecord(
            PayloadTooLarge(
                f"record is {size} bytes, the limit is {limits.max_record_bytes}",
                {"size": size, "limit": limits.max_record_bytes},
            ),
            _header_id(record),
        )
    try:
        encoding = encoding_of(record)
    except UnknownContentType as exc:
        supported = {"supported": ["application/json", "application/avro"]}
        raise UndecodableRecord(ProtocolError(str(exc), supported), _header_id(record)) from None
    if encoding is Encoding.AVRO:
        doc = _from_avro(value, codec or _default_codec(), record)
        clean = False
    else:
        clean = json_is_clean(value, limits)
        request = _clean_request(value) if clean else None
        if request is not None:
            return request
        doc = _from_json(value, record)
    return _envelope(doc, record, limits, clean)


def _clean_request(value: bytes) -> CapabilityRequest | None:
    """A request validated straight from clean JSON bytes, in one pydantic pass.

    Only when it is one the full path would accept unchanged: version and type
    present and supported, its own id, no ``NaN``/``Infinity`` literal. None
    sends the record down the full path, which says exactly what is wrong.
    """
    if b"NaN" in value or b"Infinity" in value:
        return None
    try:
        request: CapabilityRequest = _REQUEST.validate_json(value)
    except ValidationError:
        return None
    if request.__pydantic_fields_set__ >= _GIVEN and _ONE_PASS_VERSION.match(request.version):
        return request
    return None


def _from_json(value: bytes, record: RawRecord) -> dict[str, Any]:
    try:
        doc = from_json(value, allow_inf_nan=False)
    except ValueError as exc:
        raise UndecodableRecord(
            ProtocolError(f"value is not valid UTF-8 JSON: {_json_reason(exc)}"),
            _header_id(record),
        ) from None
    if not isinstance(doc, dict):
        raise UndecodableRecord(
            ProtocolError(f"envelope must be a JSON object, not {_json_kind(doc)}"),
            _header_id(record),
        )
    return doc


_SURROGATE = "a lone surrogate escape (half of a \\uD800-\\uDFFF pair) is not a character"
_JSON_REASONS = {
    "unexpected end of hex escape": _SURROGATE,
    "lone leading surrogate in hex escape": _SURROGATE,
}


def _json_reason(exc: ValueError) -> str:
    """The parser's reason, with the surrogate cases said as what they are."""
    text = str(exc)
    for phrase, reason in _JSON_REASONS.items():
        if text.startswith(phrase):
            return reason + text[len(phrase) :]
    return text


def _json_kind(value: object) -> str:
    """How JSON names a decoded value's kind: ``null``, ``true``, ``a number``, ``a list``."""
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    if isinstance(value, int | float):
        return "a number"
    return "a string" if isinstance(value, str) else "a list"


def _from_avro(value: bytes, codec: AvroCodec, record: RawRecord) -> dict[str, Any]:
    try:
        schema, doc = codec.decode(value)
    except AvroDecodeError as exc:
        raise UndecodableRecord(
            ProtocolError(f"value is not valid Avro: {exc}"), _header_id(record)
        ) from None
    if schema not in _AVRO_SCHEMAS:
        raise UndecodableRecord(
            ProtocolError(
                f"a {schema} record cannot be sent to the requests topic",
                {"accepted": sorted(_AVRO_SCHEMAS)},
            ),
            _header_id(record),
        )
    return doc


def _envelope(
    doc: dict[str, Any], record: RawRecord, limits: Limits, clean: bool = False
) -> Decoded:
    doc_id = doc.get("id")
    correlation = doc_id if _is_id(doc_id) else _header_id(record)
    reply_partition = _reply_partition(doc)
    cap_id = doc.get("capability_id") if isinstance(doc.get("capability_id"), str) else None

    def fail(error: PacketFlowError) -> UndecodableRecord:
        return UndecodableRecord(error, correlation, reply_partition, cap_id)

    _check_version(doc.get("version", _ABSENT), fail)
    if doc_id is None and correlation is not None:
        doc["id"] = correlation
    try:
        for field in () if clean else ("payload", "context"):
            if field in doc:
                doc[field] = sanitize(doc[field], limits, field)
    except PacketFlowError as error:
        raise fail(error) from None
    kind = doc.get("type")
    try:
        if kind == MessageType.CAPABILITY_REQUEST:
            return CapabilityRequest.model_validate(doc)
        if kind == MessageType.HEARTBEAT:
            return Heartbeat.model_validate(doc)
    except ValidationError as exc:
        raise fail(ProtocolError("envelope is invalid", envelope_details(exc))) from None
    accepted = {"accepted": [MessageType.CAPABILITY_REQUEST.value, MessageType.HEARTBEAT.value]}
    if "type" not in doc:
        raise fail(ProtocolError("type is missing", accepted))
    if not isinstance(kind, str):
        raise fail(ProtocolError(f"type must be a string, got {_shown(kind)}", accepted))
    raise fail(ProtocolError(f"type {kind[:64]!r} cannot be sent to the requests topic", accepted))


def _check_version(version: object, fail: Any) -> None:
    match = _VERSION.match(version) if isinstance(version, str) else None
    if match is None:
        supported = {"supported": list(SUPPORTED_VERSIONS)}
        if version is _ABSENT:
            raise fail(ProtocolError("version is missing: a string MAJOR.MINOR", supported))
        raise fail(
            ProtocolError(f"version must be a string MAJOR.MINOR, got {_shown(version)}", supported)
        )
    if int(match.group(1)) not in _MAJORS:
        raise fail(
            UnsupportedVersion(
                f"protocol version {version} is not supported",
                {"supported": list(SUPPORTED_VERSIONS), "received": version},
            )
        )


_ABSENT = object()


def _shown(value: object) -> str:
    """A wrong value as the error quotes it: strings quoted, others by their JSON kind."""
    if isinstance(value, str):
        return repr(value[:32])
    kind = _json_kind(value)
    if kind == "a number":
        return f"the number {str(value)[:32]}"
    return kind


def _is_id(value: object) -> bool:
    """Whether an envelope id can name the answer: 1-256 printable characters."""
    return isinstance(value, str) and 0 < len(value) <= 256 and value.isprintable()


def _reply_partition(doc: dict[str, Any]) -> int | None:
    meta = doc.get("metadata")
    value = meta.get("reply_partition") if isinstance(meta, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _header_id(record: RawRecord) -> str | None:
    """The id a client gave outside the envelope: the request-id header, else the key."""
    return _text(record.header(REQUEST_ID_HEADER)) or _text(record.key)


def _text(raw: bytes | None) -> str | None:
    if not raw:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if _is_id(text) else None
