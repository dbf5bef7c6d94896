"""Exactly once: the offsets Faust's fetch loop passes over, recorded instead of filled in.

Faust's consumer takes offsets its fetch loop did not see for gaps and fills
them in as if acked (``Consumer._add_gap``). Under ``read_committed`` those are
commit markers and records of aborted transactions, and records the fetch loop
itself dropped: its ``getmany`` skips what aiokafka returned for a partition
not active at that moment and the rest of a batch once the flow stops for a
rebalance, and a flow stopped while a message waits for room in a stream's
buffer cancels its delivery. Offsets fetched but never delivered are kept out
of the gaps. An agent checks the holes between the events it is given against
the gaps (:class:`packetflow.worker.holes.Continuity`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from faust.types import TP

from packetflow.faust.patches.offsets import strict_offsets

__all__ = ["FetchGaps", "fetch_gaps", "record_gaps"]

KEEP_GAPS = 10_000
"""Gaps kept per partition, newest last (a chunk needs only its own)."""


class FetchGaps:
    """The offsets Faust's fetch loop passed over between two records it delivered (its
    ``add`` is installed as the consumer's ``_add_gap``).

    Faust counts a gap from its *read offset*, which a seek sets too: a record
    fetched before the seek and delivered after it then makes a "gap" over
    records never read. A gap that starts right after the offset a partition was
    sought to is therefore not recorded; the hole is read instead
    (:class:`~packetflow.worker.holes.Continuity`).
    """

    def __init__(self, sought: Mapping[TP, tuple[Any, int]] | None = None) -> None:
        self._gaps: dict[TP, list[tuple[int, int]]] = defaultdict(list)
        self._pending: dict[TP, set[int]] = defaultdict(set)  # fetched, not delivered yet
        self.sought: Mapping[TP, tuple[Any, int]] = sought if sought is not None else {}
        """Per partition, the consumer generation of its last seek and the offset sought."""

    async def add(self, tp: TP, offset_from: int, offset_to: int) -> None:
        """Faust's ``_add_gap``: offsets ``[offset_from, offset_to)`` were not delivered."""
        at = self.sought.get(tp)
        if at is not None and offset_from - 1 == at[1]:  # counted from a seek, not a read
            return
        gaps = self._gaps[tp]
        pending = self._pending.get(tp)
        start = offset_from
        if pending:
            for offset in sorted(o for o in pending if offset_from <= o < offset_to):
                if offset > start:
                    gaps.append((start, offset))
                start = offset + 1  # a record fetched and dropped: no gap
            pending.difference_update([o for o in pending if o < offset_to])
        if offset_to > start:
            gaps.append((start, offset_to))
        if len(gaps) > KEEP_GAPS:
            del gaps[: len(gaps) - KEEP_GAPS]

    def fetched(self, tp: TP, offsets: Iterable[int]) -> None:
        """aiokafka returned records at ``offsets`` of ``tp`` to Faust's fetch loop."""
        self._pending[tp].update(offsets)

    def delivered(self, tp: TP, offset: int) -> None:
        """The fetch loop handed the record at ``offset`` on to its stream."""
        pending = self._pending.get(tp)
        if pending:
            pending.discard(offset)

    def covers(self, tp: TP, start: int, end: int) -> bool:
        """Whether every offset of ``[start, end)`` is in a gap."""
        at = start
        for low, high in sorted(self._gaps.get(tp, ())):
            if low > at:
                break
            at = max(at, high)
            if at >= end:
                return True
        return at >= end


def record_gaps(app: Any) -> FetchGaps:
    """Record the offsets Faust's fetch loop passes over, and the records it fetched and has
    not delivered (see the module doc)."""
    gaps = FetchGaps(strict_offsets(app).sought)
    consumer = app.consumer
    consumer._add_gap = gaps.add
    consumer._wait_next_records = _noting_fetched(consumer._wait_next_records, app, gaps)
    consumer.callback = _noting_delivered(consumer.callback, gaps)
    consumer.packetflow_gaps = gaps
    return gaps


def _noting_fetched(
    wait_next_records: Callable[[float], Awaitable[tuple[Any, Any]]], app: Any, gaps: FetchGaps
) -> Callable[[float], Awaitable[tuple[Any, Any]]]:
    """Faust's ``_wait_next_records``, noting the offsets of acked topics it returns."""
    acks_enabled_for = app.topics.acks_enabled_for

    async def wait(timeout: float) -> tuple[Any, Any]:
        records, active = await wait_next_records(timeout)
        for tp, batch in (records or {}).items():
            if batch and acks_enabled_for(tp.topic):
                gaps.fetched(TP(tp.topic, tp.partition), (r.offset for r in batch))
        return records, active

    return wait


def _noting_delivered(
    callback: Callable[[Any], Awaitable[None]], gaps: FetchGaps
) -> Callable[[Any], Awaitable[None]]:
    """Faust's message callback (the fetch loop's hand-off), noting each delivery; one
    cancelled is not noted: that record was dropped."""

    async def deliver(message: Any) -> None:
        await callback(message)
        gaps.delivered(TP(message.topic, message.partition), message.offset)

    return deliver


def fetch_gaps(app: Any) -> FetchGaps:
    """The gaps :func:`record_gaps` records on ``app``'s consumer (installed at start)."""
    gaps: FetchGaps = app.consumer.packetflow_gaps
    return gaps
