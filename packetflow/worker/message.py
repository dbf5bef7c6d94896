"""Faust messages as PacketFlow records."""

from __future__ import annotations

from typing import Any

from packetflow.records import RawRecord
from packetflow.worker.partition import Partitioner

__all__ = [
    "consumer_record",
    "kafka_client",
    "kafka_producer",
    "partitioner",
    "raw_record",
    "raw_topic",
]


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


def kafka_producer(app: Any) -> Any:
    """The ``AIOKafkaProducer`` under a Faust app's producer."""
    return app.producer._ensure_producer()


def kafka_client(app: Any) -> Any:
    """The aiokafka client under a Faust app's producer: its cluster metadata."""
    return kafka_producer(app).client


def partitioner(app: Any) -> Partitioner:
    """Where an outbound record goes, from the cluster metadata of the app's producer."""
    cluster = kafka_client(app).cluster

    def partitions_of(topic: str) -> int | None:
        known = cluster.partitions_for_topic(topic)
        return len(known) if known else None

    return Partitioner(partitions_of)


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
