"""A table's RocksDB store read and written as bytes, past Faust's serializers.

Reactor records are JSON encoded once by PacketFlow (:mod:`packetflow.reactor.changelog`):
they go to the store as they are, under raw keys, as Faust's recovery writes
them. A ``SerializedStore``'s byte-level access (``_get``, ``_set``) is what
its backends implement, not a public API.
"""

from __future__ import annotations

from typing import Any

__all__ = ["store_get", "store_set"]


def store_get(store: Any, key: bytes) -> bytes | None:
    """The bytes ``store`` (a ``SerializedStore``) holds under ``key``, or None."""
    value: bytes | None = store._get(key)
    return value


def store_set(store: Any, key: bytes, value: bytes) -> None:
    """Write ``value`` under ``key`` in ``store``: the partition of the current event."""
    store._set(key, value)
