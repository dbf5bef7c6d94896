"""The partition of each outbound record, as Kafka's default partitioner would choose it.

A request's response, effects and audit record all carry its correlation id as
key. aiokafka hashes the key of every record it sends with murmur2 written in
Python, which costs more than the rest of handing over the record; hashing the
key once and reusing it for each topic gives the very same partitions.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from aiokafka.partitioner import murmur2

__all__ = ["Partitioner", "kafka_partition"]

_CACHE_LIMIT = 10_000


def kafka_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (Java and aiokafka) gives ``key``."""
    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions


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
