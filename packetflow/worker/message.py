"""The Faust app's Kafka plumbing: raw topics, its producer, where records go."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from packetflow.faust.patches import kafka_producer
from packetflow.kafka.partition import Partitioner

__all__ = [
    "kafka_client",
    "partition_counts",
    "partitioner",
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
