"""Faust messages as PacketFlow records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from packetflow.faust.patches import kafka_producer
from packetflow.records import RawRecord
from packetflow.worker.partition import Partitioner

__all__ = [
    "consumer_record",
    "kafka_client",
    "partition_counts",
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


def kafka_client(app: Any) -> Any:
    """The aiokafka client under a Faust app's producer: its cluster metadata."""
    return kafka_producer(app).client


def partitioner(app: Any) -> Partitioner:
    """Where an outbound record goes, from the cluster metadata of the app's producer."""
    return Partitioner(partition_counts(kafka_client(app).cluster))


def partition_counts(cluster: Any) -> Callable[[str], int | None]:
    """``count(topic)`` from aiokafka's ``ClusterMetadata``: None while the topic is unknown.

    Counts are kept until the next metadata update (aiokafka builds a new set
    for each question, three times per request).
    """
    counts: dict[str, int] = {}
    cluster.add_listener(lambda _: counts.clear())

    def count(topic: str) -> int | None:
        known = counts.get(topic)
        if known is None:
            partitions = cluster.partitions_for_topic(topic)
            if not partitions:
                return None
            known = counts[topic] = len(partitions)
        return known

    return count


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
