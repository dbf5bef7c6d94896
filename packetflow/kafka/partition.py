"""The partition of each outbound record, as Kafka's default partitioner would choose it.

A request's response, effects and audit record all carry its correlation id as
key: its hash is computed once and reused for each topic, with a murmur2 that
reads the key four bytes at a time (aiokafka's reads it byte by byte, and
cost more than appending the record to its batch).
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable
from functools import lru_cache

__all__ = ["Partitioner", "kafka_partition", "murmur2"]

_CACHE_LIMIT = 10_000
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """MurmurHash2 of ``data`` with Kafka's seed, as ``org.apache.kafka.common.utils.Utils``."""
    length = len(data)
    h = 0x9747B28C ^ length
    for k in _words(length >> 2)(data):
        k = (k * _M) & _MASK
        k = ((k ^ (k >> 24)) * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length & 3
    if tail:
        end = length & ~3
        if tail == 3:
            h ^= data[end + 2] << 16
        if tail >= 2:
            h ^= data[end + 1] << 8
        h = ((h ^ data[end]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


@lru_cache(maxsize=64)
def _words(count: int) -> Callable[[bytes], tuple[int, ...]]:
    """Reads the first ``count`` little-endian 32-bit words of a key."""
    return struct.Struct(f"<{count}I").unpack_from


def kafka_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (Java and aiokafka) gives ``key``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


class Partitioner:
    """``partitioner(topic, key, partition)``: the partition a record goes to.

    A partition the record names is kept when the topic has it; otherwise a
    keyed record goes where the default partitioner puts its key and an
    unkeyed one to the next partition in turn. None when the topic's partition
    count is not known yet: the producer then decides.
    """

    def __init__(self, partitions_of: Callable[[str], int | None]) -> None:
        self._partitions_of = partitions_of
        self._hashes: dict[bytes, int] = {}
        self._turn = itertools.count()

    def __call__(self, topic: str, key: bytes | None, partition: int | None = None) -> int | None:
        """The partition of a record of ``topic`` with ``key``, asking for ``partition``."""
        count = self._partitions_of(topic)
        if not count:
            return None
        if partition is not None and 0 <= partition < count:
            return partition
        if key is None:
            return next(self._turn) % count
        hashed = self._hashes.get(key)
        if hashed is None:
            if len(self._hashes) >= _CACHE_LIMIT:
                self._hashes.clear()
            hashed = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        return hashed % count
