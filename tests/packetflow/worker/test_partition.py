"""Keyed records land where Kafka's default partitioner puts them, however they are hashed."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from packetflow.worker.partition import KeyPartitioner, kafka_partition

COUNTS = {"t.responses": 8, "t.audit": 3, "t.effects": 1}


def test_partitions_match_the_producers_default_partitioner() -> None:
    partitioner = KeyPartitioner(COUNTS.get)
    for n in range(2000):
        key = f"request-{n}".encode()
        for topic, count in COUNTS.items():
            expected = DefaultPartitioner()(key, list(range(count)), list(range(count)))
            assert partitioner(topic, key) == expected == kafka_partition(key, count)


def test_a_topic_without_metadata_is_left_to_the_producer() -> None:
    assert KeyPartitioner(COUNTS.get)("t.unknown", b"k") is None


def test_the_hash_cache_stays_bounded_and_correct() -> None:
    partitioner = KeyPartitioner(COUNTS.get)
    for n in range(25_000):
        key = f"k{n}".encode()
        assert partitioner("t.responses", key) == kafka_partition(key, 8)
    assert len(partitioner._hashes) <= 10_000
