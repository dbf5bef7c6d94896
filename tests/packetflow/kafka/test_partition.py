"""Records land where Kafka's default partitioner puts them, however they are hashed."""

from __future__ import annotations

from collections import Counter

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from packetflow.kafka.partition import Partitioner, kafka_partition, murmur2

COUNTS = {"t.responses": 8, "t.audit": 3, "t.effects": 1}


def test_keyed_partitions_match_the_producers_default_partitioner() -> None:
    partitioner = Partitioner(COUNTS.get)
    for n in range(2000):
        key = f"request-{n}".encode()
        for topic, count in COUNTS.items():
            expected = DefaultPartitioner()(key, list(range(count)), list(range(count)))
            assert partitioner(topic, key) == expected == kafka_partition(key, count)


def test_a_partition_the_topic_has_is_kept_and_one_it_lacks_falls_back_to_the_key() -> None:
    partitioner = Partitioner(COUNTS.get)
    assert partitioner("t.responses", b"k", 5) == 5
    assert partitioner("t.audit", b"k", 5) == kafka_partition(b"k", 3)


def test_unkeyed_records_are_spread_over_every_partition() -> None:
    partitioner = Partitioner(COUNTS.get)
    spread = Counter(partitioner("t.responses", None) for _ in range(800))
    assert spread == {p: 100 for p in range(8)}


def test_a_topic_without_metadata_is_left_to_the_producer() -> None:
    assert Partitioner(COUNTS.get)("t.unknown", b"k") is None
    assert Partitioner(COUNTS.get)("t.unknown", b"k", 0) is None


def test_the_hash_cache_stays_bounded_and_correct() -> None:
    partitioner = Partitioner(COUNTS.get)
    for n in range(25_000):
        key = f"k{n}".encode()
        assert partitioner("t.responses", key) == kafka_partition(key, 8)
    assert len(partitioner._hashes) <= 10_000


@given(st.binary(max_size=300))
def test_murmur2_equals_aiokafkas(key: bytes) -> None:
    assert murmur2(key) == aiokafka_murmur2(key)
