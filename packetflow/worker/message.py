"""Faust messages as PacketFlow records."""

from __future__ import annotations

from typing import Any

from packetflow.records import RawRecord

__all__ = ["raw_record", "raw_topic"]


def raw_topic(app: Any, name: str, partitions: int, **options: Any) -> Any:
    """A topic PacketFlow creates and reads as raw bytes (it decodes records itself)."""
    return app.topic(
        name,
        internal=True,
        partitions=partitions,
        key_serializer="raw",
        value_serializer="raw",
        **options,
    )


def raw_record(message: Any) -> RawRecord:
    """A consumed Faust message as a :class:`RawRecord`."""
    headers = message.headers or ()
    if isinstance(headers, dict):
        headers = headers.items()
    return RawRecord(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        headers=tuple((k, v if v is not None else b"") for k, v in headers),
        timestamp_ms=int(message.timestamp * 1000) if message.timestamp else None,
    )
