"""Exactly once: the agents' transactions commit their offsets, Faust's consumer none.

Faust's commit, computed from acked offsets, could move a partition's offset
back behind a transaction's, and on a topic written in transactions the
offsets of commit markers never come back acked. So Faust commits nothing
(:func:`commit_in_transactions`), and what a transaction committed is written
where Faust and the strict seek after a rebalance read it
(:func:`record_transacted`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiokafka import TopicPartition
from faust.types import TP

from packetflow.faust.patches.offsets import strict_offsets

__all__ = ["commit_in_transactions", "record_transacted"]


def commit_in_transactions(app: Any) -> None:
    """Stop Faust committing its agents' offsets: their transactions do.

    Acked offsets are forgotten as Faust asks for the offset to commit, so they
    do not pile up.
    """
    consumer = app.consumer

    def nothing_to_commit(tp: TP) -> int | None:
        consumer._acked[tp].clear()
        consumer._acked_index[tp].clear()
        return None

    consumer._new_offset = nothing_to_commit


def record_transacted(app: Any, offsets: Mapping[TopicPartition, int]) -> None:
    """Record offsets a transaction committed: as Faust's committed offsets (what it reports),
    and where :class:`~.offsets.StrictOffsets` seeks after a rebalance."""
    committed = app.consumer._committed_offset
    transacted = strict_offsets(app).transacted
    for tp, offset in offsets.items():
        committed[TP(tp.topic, tp.partition)] = transacted[TP(tp.topic, tp.partition)] = offset
