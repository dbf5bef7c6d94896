"""Reactor state writes: the local store at once, the changelog records with the answers' sink.

Faust's ``table[key] = value`` sends each changelog record on its own: a future
message in its producer buffer, one aiokafka ``send`` from a background task,
and a RocksDB write of the persisted offset per acknowledgement. Under a steady
load that path cost a reactor worker two thirds of its throughput. A
:class:`TableStore` instead writes the record to the table's local store and
keeps its changelog record, encoded as Faust encodes it. The reactor agent
sends them with its batch sink, waits until the broker has them all, records
each changelog partition's last offset once (:meth:`TableStore.persisted`),
and only then publishes the answers that report those states.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from faust.streams import current_event
from faust.types import TP

from packetflow.records import Outbound
from packetflow.worker.batches import Sent, acknowledged, failure
from packetflow.worker.sink import BatchSink, UndeliveredRecord

__all__ = ["CHANGELOG", "TableStore", "deliver_after_changelog"]

CHANGELOG = "changelog"
"""The ``kind`` of a changelog record: one the broker refuses ends the worker (a loss)."""


class TableStore:
    """A reactor's :class:`~packetflow.reactor.StateStore` on a Faust table.

    Writes happen inside the reactor agent, for its current event: the record
    goes to the local store of that event's partition, and its changelog
    record (same partition) waits in :meth:`take` for the agent to send.
    """

    def __init__(self, table: Any) -> None:
        self.table = table
        self._changelog = table.changelog_topic
        self._topic: str = self._changelog.get_topic_name()
        self._pending: list[Outbound] = []

    def get(self, key: str) -> dict[str, Any] | None:
        """The key's record in the local table (this worker owns the key)."""
        record: dict[str, Any] | None = self.table.data.get(key.encode())
        return record

    def set(self, key: str, record: dict[str, Any]) -> None:
        """Write the record locally and keep its changelog record for :meth:`take`."""
        event = current_event()
        if event is None:
            raise RuntimeError("reactor state is written only while a hop is applied")
        raw = key.encode()
        self.table.data[raw] = record  # the store writes to the event's partition
        changelog_key, _ = self._changelog.prepare_key(raw, self.table.key_serializer)
        value, _ = self._changelog.prepare_value(record, self.table.value_serializer)
        partition: int = event.message.partition
        self._pending.append(Outbound(self._topic, changelog_key, value, (), partition, CHANGELOG))

    def take(self) -> list[Outbound]:
        """The changelog records written since the last call, in order."""
        pending, self._pending = self._pending, []
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
) -> None:
    """Send ``outputs`` once the changelog records of the states they report are on the
    broker (and, with ``flush``, whatever Faust's own tables wrote)."""
    changes = store.take()
    if changes:
        sent = await sink.send(changes)
        await acknowledged(sent)
        store.persisted(sent)
    if flush is not None:
        await flush()
    await sink.send(outputs)
