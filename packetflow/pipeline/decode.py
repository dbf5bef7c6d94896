"""Step 1: bytes to envelope. Anything that is not a valid envelope is undecodable."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from packetflow.envelope import SUPPORTED_VERSIONS, CapabilityRequest, Heartbeat, MessageType
from packetflow.errors import (
    PacketFlowError,
    PayloadTooLarge,
    ProtocolError,
    UnsupportedVersion,
    validation_details,
)
from packetflow.records import RawRecord

__all__ = ["REQUEST_ID_HEADER", "Decoded", "Limits", "UndecodableRecord", "decode"]

REQUEST_ID_HEADER = "packetflow-request-id"
"""Header a client may set so that even an undecodable request can be answered."""

_VERSION = re.compile(r"^(\d+)\.(\d+)$")
_MAJORS = frozenset(int(v.split(".")[0]) for v in SUPPORTED_VERSIONS)
_JSON_TYPES = (b"application/json", b"application/json; charset=utf-8")

Decoded = CapabilityRequest | Heartbeat


@dataclass(frozen=True, slots=True)
class Limits:
    """Size limits applied before anything else is done with a record."""

    max_record_bytes: int = 1_048_576


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


def decode(record: RawRecord, limits: Limits) -> Decoded:
    """Decode a consumed record, or raise :class:`UndecodableRecord`."""
    header_id = _text(record.header(REQUEST_ID_HEADER)) or _text(record.key)
    value = record.value
    if value is None:
        raise UndecodableRecord(ProtocolError("record has no value"), header_id)
    if len(value) > limits.max_record_bytes:
        raise UndecodableRecord(
            PayloadTooLarge(
                f"record is {len(value)} bytes, the limit is {limits.max_record_bytes}",
                {"size": len(value), "limit": limits.max_record_bytes},
            ),
            header_id,
        )
    content_type = record.header("content-type")
    if content_type is not None and content_type.lower() not in _JSON_TYPES:
        raise UndecodableRecord(
            ProtocolError(
                f"unsupported content-type {content_type[:64]!r}",
                {"supported": ["application/json"]},
            ),
            header_id,
        )
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise UndecodableRecord(
            ProtocolError(f"value is not valid UTF-8 JSON: {exc}"), header_id
        ) from None
    if not isinstance(doc, dict):
        raise UndecodableRecord(
            ProtocolError(f"envelope must be a JSON object, not {type(doc).__name__}"), header_id
        )
    return _envelope(doc, header_id)


def _envelope(doc: dict[str, Any], header_id: str | None) -> Decoded:
    doc_id = doc.get("id")
    correlation = doc_id if isinstance(doc_id, str) and doc_id else header_id
    reply_partition = _reply_partition(doc)
    cap_id = doc.get("capability_id") if isinstance(doc.get("capability_id"), str) else None

    def fail(error: PacketFlowError) -> UndecodableRecord:
        return UndecodableRecord(error, correlation, reply_partition, cap_id)

    _check_version(doc.get("version"), fail)
    if doc_id is None and correlation is not None:
        doc["id"] = correlation
    kind = doc.get("type")
    try:
        if kind == MessageType.CAPABILITY_REQUEST:
            return CapabilityRequest.model_validate(doc)
        if kind == MessageType.HEARTBEAT:
            return Heartbeat.model_validate(doc)
    except ValidationError as exc:
        raise fail(ProtocolError("envelope is invalid", validation_details(exc))) from None
    raise fail(
        ProtocolError(
            f"type {kind!r} cannot be sent to the requests topic",
            {"accepted": [MessageType.CAPABILITY_REQUEST.value, MessageType.HEARTBEAT.value]},
        )
    )


def _check_version(version: object, fail: Any) -> None:
    match = _VERSION.match(version) if isinstance(version, str) else None
    if match is None:
        raise fail(
            ProtocolError(
                f"version must be a string MAJOR.MINOR, got {version!r}",
                {"supported": list(SUPPORTED_VERSIONS)},
            )
        )
    if int(match.group(1)) not in _MAJORS:
        raise fail(
            UnsupportedVersion(
                f"protocol version {version} is not supported",
                {"supported": list(SUPPORTED_VERSIONS), "received": version},
            )
        )


def _reply_partition(doc: dict[str, Any]) -> int | None:
    meta = doc.get("metadata")
    value = meta.get("reply_partition") if isinstance(meta, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _text(raw: bytes | None) -> str | None:
    if not raw:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if 0 < len(text) <= 256 and text.isprintable() else None
