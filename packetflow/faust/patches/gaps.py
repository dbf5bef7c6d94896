"""Exactly once: the offsets Faust's fetch loop passes over, recorded instead of filled in.

Faust's consumer takes offsets its fetch loop did not see for gaps and fills
them in as if acked (``Consumer._add_gap``). Under ``read_committed`` those are
commit markers and records of aborted transactions, never a data record; an
agent checks the holes between the events it is given against them
(:class:`packetflow.worker.holes.Continuity`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
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
        self.sought: Mapping[TP, tuple[Any, int]] = sought if sought is not None else {}
        """Per partition, the consumer generation of its last seek and the offset sought."""

    async def add(self, tp: TP, offset_from: int, offset_to: int) -> None:
        """Faust's ``_add_gap``: offsets ``[offset_from, offset_to)`` were not delivered."""
        at = self.sought.get(tp)
        if at is not None and offset_from - 1 == at[1]:  # counted from a seek, not a read
            return
        gaps = self._gaps[tp]
        gaps.append((offset_from, offset_to))
        if len(gaps) > KEEP_GAPS:
            del gaps[: len(gaps) - KEEP_GAPS]

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
    """Record the offsets Faust's fetch loop passes over (see the module doc)."""
    gaps = FetchGaps(strict_offsets(app).sought)
    app.consumer._add_gap = gaps.add
    app.consumer.packetflow_gaps = gaps
    return gaps


def fetch_gaps(app: Any) -> FetchGaps:
    """The gaps :func:`record_gaps` records on ``app``'s consumer (installed at start)."""
    gaps: FetchGaps = app.consumer.packetflow_gaps
    return gaps
