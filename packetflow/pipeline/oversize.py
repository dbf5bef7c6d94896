"""Outbound records too large for the broker, and the smaller records that stand for them.

A record the broker refuses for its size would be refused again on every
redelivery: a dead letter or audit record that cannot be stored whole must
not stop the worker. Where such a record is built it is measured, and one
over the limit is replaced by a record that says what it stood for.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from aiokafka.errors import MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError

from packetflow.records import Header, Outbound

__all__ = [
    "DESCRIBED",
    "DESCRIBED_HEADER",
    "OUTBOUND_MARGIN",
    "described_dead_letter",
    "fits",
    "record_size",
    "refused_for_size",
]

OUTBOUND_MARGIN = 1024
"""Bytes kept free under the record limit for Kafka's batch and record framing."""

DESCRIBED_HEADER = "packetflow.dlq.described"
DESCRIBED = "too large to store whole"
"""The value of :data:`DESCRIBED_HEADER`, and the marker of an audit payload left out."""

_KEPT_KEY_BYTES = 1024
_SIZE_ERRORS = (MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError)


def record_size(key: bytes | None, value: bytes | None, headers: Iterable[Header]) -> int:
    """What a record takes against the broker's limit: key, value, header names and values."""
    size = len(key or b"") + len(value or b"")
    for name, data in headers:
        size += len(name) + len(data)
    return size


def fits(out: Outbound, max_record_bytes: int) -> bool:
    """Whether the broker takes ``out`` under a ``max_record_bytes`` limit."""
    return record_size(out.key, out.value, out.headers) <= max_record_bytes - OUTBOUND_MARGIN


def refused_for_size(exc: BaseException) -> bool:
    """Whether a delivery failed because the record was too large (it would fail again)."""
    return isinstance(exc, _SIZE_ERRORS)


def described_dead_letter(out: Outbound, provenance: Iterable[str]) -> Outbound:
    """``out`` (a dead letter) without its value and original headers: its ``provenance``
    headers, the sizes of its key, value and other headers, and the value's SHA-256."""
    keep = frozenset(provenance)
    kept = [h for h in out.headers if h[0] in keep]
    others = [h for h in out.headers if h[0] not in keep]
    value = out.value or b""
    key = out.key if out.key is not None and len(out.key) <= _KEPT_KEY_BYTES else None
    headers: tuple[Header, ...] = (
        *kept,
        (DESCRIBED_HEADER, DESCRIBED.encode()),
        ("packetflow.dlq.key.bytes", str(len(out.key or b"")).encode()),
        ("packetflow.dlq.value.bytes", str(len(value)).encode()),
        ("packetflow.dlq.headers.bytes", str(record_size(None, None, others)).encode()),
        ("packetflow.dlq.headers.count", str(len(others)).encode()),
        ("packetflow.dlq.value.sha256", hashlib.sha256(value).hexdigest().encode()),
    )
    return Outbound(out.topic, key, None, headers, out.partition, out.kind)
