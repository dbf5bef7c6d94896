"""Consumed records, from aiokafka or from Faust, become the same RawRecord."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from aiokafka.structs import ConsumerRecord

from packetflow.kafka.records import consumer_record, raw_record
from packetflow.records import RawRecord
from packetflow.worker.message import partition_counts


def aiokafka_record(headers: tuple[tuple[str, bytes | None], ...]) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        "t.requests", 3, 42, 1_700_000_000_123, 0, b"k", b"{}", None, 1, 2, headers
    )


def test_an_aiokafka_record_keeps_everything_it_had() -> None:
    record = consumer_record(aiokafka_record((("a", b"1"), ("a", b"2"))))
    assert record == RawRecord(
        "t.requests", 3, 42, b"k", b"{}", (("a", b"1"), ("a", b"2")), 1_700_000_000_123
    )
    assert record.header("a") == b"2"  # the last one wins


def test_a_null_header_value_becomes_empty_bytes() -> None:
    record = consumer_record(aiokafka_record((("a", b"1"), ("empty", None))))
    assert record.headers == (("a", b"1"), ("empty", b""))


def test_a_faust_message_with_dict_headers_and_seconds() -> None:
    message = SimpleNamespace(
        topic="t.hop",
        partition=0,
        offset=7,
        key=None,
        value=b"v",
        headers={"traceparent": b"00-1", "gone": None},
        timestamp=1_700_000_000.5,
    )
    record = raw_record(message)
    assert record.headers == (("traceparent", b"00-1"), ("gone", b""))
    assert record.timestamp_ms == 1_700_000_000_500


def test_no_headers_at_all() -> None:
    message = SimpleNamespace(
        topic="t", partition=0, offset=0, key=None, value=None, headers=None, timestamp=None
    )
    assert raw_record(message).headers == ()


class Cluster:
    """aiokafka's ClusterMetadata, as far as partition counts go."""

    def __init__(self, partitions: dict[str, set[int]]) -> None:
        self.partitions = partitions
        self.listeners: list[Any] = []

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return self.partitions.get(topic)

    def add_listener(self, listener: Any) -> None:
        self.listeners.append(listener)

    def update(self, topic: str, count: int) -> None:
        self.partitions[topic] = set(range(count))
        for listener in self.listeners:
            listener(self)


def test_partition_counts_follow_metadata_updates() -> None:
    cluster = Cluster({"t.responses": {0, 1, 2}})
    count = partition_counts(cluster)
    assert count("t.responses") == 3
    assert count("t.audit") is None  # not known yet: the producer decides
    cluster.update("t.responses", 8)  # partitions were added to the topic
    cluster.update("t.audit", 4)
    assert count("t.responses") == 8
    assert count("t.audit") == 4
