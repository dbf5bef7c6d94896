"""Faust's offset commit, made strict: it advances only over records that were processed.

Faust computes the offset it commits for a partition from the offsets its
streams acked (``Consumer._new_offset``). Three things there can commit past a
record that was never processed; the records a CI crash test lost on a
reactor topic sat where they would leave them:

- the head check lets one record be missing (``min(acked) - committed > 1``),
  and is skipped altogether while the committed offset is 0 or unknown;
- offsets the fetch loop did not see are taken for gaps (transaction markers)
  and filled in as if acked: records the stream skipped around a rebalance
  look exactly like that;
- after a rebalance, aiokafka seeks a partition back only to a committed offset
  above 0, so a partition with no commit yet keeps reading where it was, past
  the records skipped in the old generation.

:class:`StrictOffsets` replaces the first two with one rule: the commit moves
from the partition's committed offset over the run of acked offsets that
starts exactly there. It fixes the third by seeking a partition with no commit
to its reset position. PacketFlow runs Faust at least once, without
transactions, and its hop topics are not compacted: every offset is a record,
so there are no gaps to fill.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from faust.types import TP
from faust.types.enums import ProcessingGuarantee

__all__ = ["Confirm", "StrictOffsets", "strict_offsets"]

Confirm = Callable[[list[TP]], Awaitable[Mapping[TP, int | None]]]
"""The committed offsets of partitions, each one answered (None: no commit)."""


class StrictOffsets:
    """The commit bookkeeping of one Faust consumer, for the topics its agents ack."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.consumer = app.consumer
        self.starts: dict[TP, int] = {}  # where reading began, for partitions with no commit
        self.sought: dict[TP, tuple[Any, int]] = {}
        """Where each partition was sought at the last rebalance, with that consumer generation."""
        self.transacted: dict[TP, int] = {}
        """Offsets this worker's transactions committed (exactly once): the broker may answer
        an older one for a moment after a commit, and must not send the partition back."""
        self.confirm: Confirm | None = None
        """Asks the broker for stable commits, until it answers for each
        (:mod:`packetflow.kafka.committed`)."""

    def start(self, tp: TP) -> int | None:
        """The partition's committed offset: the first record not yet known processed."""
        committed: int | None = self.consumer._committed_offset.get(tp)
        if committed is not None and committed >= 0:
            return committed
        return self.starts.get(tp)

    def new_offset(self, tp: TP) -> int | None:
        """The offset to commit for ``tp`` now, or None (Faust's ``_new_offset``, strict)."""
        acked: list[int] = self.consumer._acked[tp]
        start = self.start(tp)
        if not acked or start is None:
            return None
        acked.sort()
        index = self.consumer._acked_index[tp]
        done = bisect_left(acked, start)  # acked again after a seek back: committed already
        if done:
            index.difference_update(acked[:done])
            del acked[:done]
        end = 0
        while end < len(acked) and acked[end] == start + end:
            end += 1
        if not end:
            return None  # the record at the committed offset is not processed yet
        index.difference_update(acked[:end])
        del acked[:end]
        return start + end

    async def seek_to_committed(self, committed: Mapping[Any, int | None]) -> dict[TP, int | None]:
        """Complete aiokafka's seek to committed offsets (the result of
        ``seek_to_committed``): with :attr:`confirm`, to the stable commits the
        broker names; partitions with no commit are sought to the reset position
        too, and every partition's start is remembered."""
        sought: dict[TP, int | None] = {}
        unset: list[TP] = []
        aiokafka = {TP(key.topic, key.partition): offset for key, offset in committed.items()}
        stable = await self._stable([tp for tp in aiokafka if self._acked(tp)])
        for tp, offset in aiokafka.items():
            if not self._acked(tp):
                sought[tp] = offset  # a changelog: recovery positions it
                continue
            target = stable.get(tp, offset)
            mine = self.transacted.get(tp)
            if mine is not None and (target is None or target < mine):
                target = mine
            if target is None or target <= 0:
                unset.append(tp)
                continue
            if target != offset:
                await self.consumer.seek(tp, target)
            sought[tp] = self.starts[tp] = target
        for tp, reset in (await self._reset_positions(unset)).items():
            await self.consumer.seek(tp, reset)
            sought[tp] = self.starts[tp] = reset
        generation = getattr(self.app, "consumer_generation_id", None)
        for tp, position in sought.items():
            if position is not None and self._acked(tp):
                self.sought[tp] = (generation, position)
        return sought

    def _acked(self, tp: TP) -> bool:
        return bool(self.app.topics.acks_enabled_for(tp.topic))

    async def _stable(self, tps: list[TP]) -> Mapping[TP, int | None]:
        """The stable commits of ``tps`` as the broker names them (:attr:`confirm`)."""
        if self.confirm is None or not tps:
            return {}
        return await self.confirm(tps)

    async def _reset_positions(self, tps: list[TP]) -> dict[TP, int]:
        """Where partitions with no commit are read from: their first record under
        ``auto_offset_reset=earliest`` (Faust's default), else the current position."""
        if not tps:
            return {}
        if self.app.conf.consumer_auto_offset_reset == "earliest":
            earliest = await self.consumer.earliest_offsets(*tps)
            return {tp: int(earliest.get(tp) or 0) for tp in tps}
        return {tp: int(await self.consumer.position(tp) or 0) for tp in tps}


def strict_offsets(app: Any) -> StrictOffsets:
    """Install :class:`StrictOffsets` on ``app.consumer`` (once) and return it."""
    consumer = app.consumer
    installed: StrictOffsets | None = getattr(consumer, "packetflow_offsets", None)
    if installed is not None:
        return installed
    if app.conf.processing_guarantee == ProcessingGuarantee.EXACTLY_ONCE:
        raise RuntimeError(
            "PacketFlow runs Faust at least once: processing_guarantee=exactly_once writes "
            "transaction markers, which strict offsets would wait on as unprocessed records"
        )
    offsets = StrictOffsets(app)
    seek_to_committed = consumer.seek_to_committed

    async def strict_seek_to_committed() -> Mapping[TP, int | None]:
        return await offsets.seek_to_committed(await seek_to_committed())

    async def no_gaps(tp: TP, offset_from: int, offset_to: int) -> None:
        """Faust's fetch loop reports offsets it did not see; none is a marker here."""

    consumer._new_offset = offsets.new_offset
    consumer.seek_to_committed = strict_seek_to_committed
    consumer._add_gap = no_gaps
    consumer.packetflow_offsets = offsets
    return offsets
