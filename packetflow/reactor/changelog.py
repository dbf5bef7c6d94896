"""Reactor state writes: the local store at once, the changelog records with the answers' sink.

Faust's ``table[key] = value`` sends each changelog record on its own: a future
message in its producer buffer, one aiokafka ``send`` from a background task,
and a RocksDB write of the persisted offset per acknowledgement: under a steady
load, most of a reactor worker's time (``docs/benchmarks-history.md``). A
:class:`TableStore` instead writes the record to the table's local store and
keeps its changelog record: the same JSON bytes, encoded once (Faust's own
``json`` serializer would encode it twice, slowly, and a key's record holds
its recent request ids, so it can be kilobytes). The reactor agent
sends them with its batch sink, waits until the broker has them all, records
each changelog partition's last offset once (:meth:`TableStore.persisted`),
and only then publishes the answers that report those states.

The records of recently read keys are kept, decoded and encoded item by item
(:mod:`.recent`; a write of a kept key replaces its record): one is reused
only while the store still holds exactly its bytes, so whatever Faust writes
to the store itself (recovery, standby replicas) is read as written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from faust.stores.base import SerializedStore
from faust.streams import current_event
from faust.types import TP
from pydantic_core import from_json, to_json

from packetflow.faust.patches import store_get, store_set
from packetflow.kafka.batches import Sent, acknowledged, failure
from packetflow.pipeline.refused import UndeliveredRecord
from packetflow.reactor.recent import RecentRecords, encode
from packetflow.records import Outbound
from packetflow.worker.sink import BatchSink

__all__ = ["CHANGELOG", "TableStore", "changes_first", "deliver_after_changelog"]

CHANGELOG = "changelog"
"""The ``kind`` of a changelog record: one the broker refuses ends the worker (a loss)."""


class TableStore:
    """A reactor's :class:`~packetflow.reactor.StateStore` on a Faust table.

    Writes happen inside the reactor agent, for its current event: the record
    goes to the local store of that event's partition, and its changelog
    record (same partition) waits in :meth:`take` for the agent to send.

    The table must have raw keys and JSON values (``key_type=bytes``, no value
    type): a RocksDB store then holds exactly the bytes of the changelog
    record, as Faust's recovery writes them, and Faust reads either.
    """

    def __init__(self, table: Any, cache_bytes: int = 2_000_000) -> None:
        if (table.key_serializer, table.value_serializer) != ("raw", "json"):
            raise ValueError(
                f"table {table.name!r}: a reactor table has raw keys and JSON values, "
                f"not {table.key_serializer!r} keys and {table.value_serializer!r} values"
            )
        self.table = table
        self._topic: str = table.changelog_topic.get_topic_name()
        self._pending: list[Outbound] = []
        self._writes: dict[bytes, int] = {}
        self.busiest = 0
        """The most writes of one key among those :meth:`take` has still to return."""
        self.recent = RecentRecords(cache_bytes)

    def get(self, key: str) -> dict[str, Any] | None:
        """The key's record in the local table (this worker owns the key)."""
        data = self.table.data
        if isinstance(data, SerializedStore):  # RocksDB: decode the bytes here, faster
            raw = key.encode()
            value = store_get(data, raw)
            if value is None:
                return None
            record = self.recent.get(raw, value)
            if record is None:
                record = from_json(value)
                self.recent.put(raw, value, record)
            return record
        found: dict[str, Any] | None = data.get(key.encode())
        return found

    def set(self, key: str, record: dict[str, Any]) -> None:
        """Write the record locally and keep its changelog record for :meth:`take`."""
        event = current_event()
        if event is None:
            raise RuntimeError("reactor state is written only while a hop is applied")
        raw = key.encode()
        data = self.table.data
        if not isinstance(data, SerializedStore):
            value = to_json(record)
            data[raw] = record
        elif raw in self.recent:  # a key read before: most keys are written once, or rarely
            value, encodings = encode(record, self.recent.encodings(raw))
            store_set(data, raw, value)  # the store writes to the event's partition
            self.recent.put(raw, value, record, encodings)
        else:
            value = to_json(record)
            store_set(data, raw, value)
        partition: int = event.message.partition
        self._pending.append(Outbound(self._topic, raw, value, (), partition, CHANGELOG))
        writes = self._writes[raw] = self._writes.get(raw, 0) + 1
        self.busiest = max(self.busiest, writes)

    def take(self) -> list[Outbound]:
        """The changelog records written since the last call, in order."""
        pending, self._pending = self._pending, []
        self._writes.clear()
        self.busiest = 0
        return pending

    def persisted(self, sent: Sent) -> None:
        """Record the last offset of each changelog partition in ``sent``, all acknowledged.

        Raises :class:`UndeliveredRecord` if the broker refused any of them.
        """
        last: dict[int, int] = {}
        for records, delivery in sent:
            exc = failure(delivery)
            if exc is not None:
                raise UndeliveredRecord(records[0], exc)
            meta = delivery.result()
            if meta is None:  # acks=0: the broker names no offset
                continue
            offset = int(meta.offset) + len(records) - 1  # a batch's offset is its first
            last[meta.partition] = offset  # a partition's batches come in order
        for partition, offset in last.items():
            self.table.data.set_persisted_offset(TP(self._topic, partition), offset)


async def deliver_after_changelog(
    outputs: Sequence[Outbound],
    store: TableStore,
    sink: BatchSink,
    flush: Callable[[], Awaitable[None]] | None = None,
    before: Sent | None = None,
) -> Sent:
    """Send ``outputs`` once the changelog records of the states they report are on the
    broker (and, with ``flush``, whatever Faust's own tables wrote); returns their batches.

    ``before`` (the previous chunk's answers) is on the broker too by then: a crash
    leaves at most one chunk's answers unsent, and a chunk holds no more writes of a key
    than its id log keeps (see :func:`~packetflow.reactor.agent.answer_batch`), so each
    of them is answered again, with its original result and effects, on redelivery.
    """
    await changes_first(store, sink, flush, before)
    return await sink.send(outputs)


async def changes_first(
    store: TableStore,
    sink: BatchSink,
    flush: Callable[[], Awaitable[None]] | None = None,
    before: Sent | None = None,
) -> None:
    """Send the store's changelog records and wait until the broker has them (and
    ``before``, and with ``flush`` whatever Faust's own tables wrote): answers may follow."""
    changes = store.take()
    if changes:
        sent = await sink.send(changes)
        await acknowledged([*(before or ()), *sent])
        store.persisted(sent)
    elif before:
        await acknowledged(before)
    if flush is not None:
        await flush()
