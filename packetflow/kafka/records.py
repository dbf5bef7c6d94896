"""Consumed Kafka messages (aiokafka's or Faust's) as PacketFlow records."""

from __future__ import annotations

from typing import Any

from packetflow.records import RawRecord

__all__ = ["consumer_record", "raw_record"]


def raw_record(message: Any) -> RawRecord:
    """A consumed Faust message (timestamp in seconds) as a :class:`RawRecord`."""
    stamp = message.timestamp
    return _record(message, int(stamp * 1000) if stamp else None)


def consumer_record(message: Any) -> RawRecord:
    """An aiokafka ``ConsumerRecord`` (timestamp in milliseconds) as a :class:`RawRecord`."""
    return _record(message, message.timestamp)


def _record(message: Any, timestamp_ms: int | None) -> RawRecord:
    return RawRecord(
        message.topic,
        message.partition,
        message.offset,
        message.key,
        message.value,
        _headers(message.headers),
        timestamp_ms,
    )


def _headers(raw: Any) -> tuple[tuple[str, bytes], ...]:
    """Headers as (name, value) pairs; a null value becomes empty bytes."""
    headers = tuple(raw.items() if isinstance(raw, dict) else raw or ())
    for _, value in headers:
        if value is None:  # rare: copy only then
            return tuple((k, b"" if v is None else v) for k, v in headers)
    return headers
