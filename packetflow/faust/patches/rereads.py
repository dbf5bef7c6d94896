"""Records Faust's streams skipped and never read again: found, and read again.

While a rebalance or a table recovery runs, and for records of an older
consumer generation, Faust's stream skips records (:mod:`.acks` keeps their
acks from counting). Faust then seeks back to the committed offset, but not
always: a fetch loop still iterating over records fetched before the seek
moves its read offset past them and drops them when they come again. The
commit then holds (:mod:`.offsets`) and the partition stalls with its
records unanswered.

:class:`RereadWatch` looks at every partition an agent acks, at an interval.
A partition is stalled when its consumer has read past the committed offset,
the record there is neither acked nor held by a stream, and it is the same
at the next look, with no rebalance in between. The watch seeks a stalled
partition back to its committed offset. A record processed twice is answered
twice at worst (reactors recognize the request id); a skipped one would be
lost.
"""

from __future__ import annotations

import logging
from typing import Any

from aiokafka.errors import KafkaError
from faust.types import TP

from packetflow.faust.patches.offsets import StrictOffsets, strict_offsets
from packetflow.metrics import Metrics

__all__ = ["REREAD_INTERVAL_S", "RereadWatch", "watch_rereads"]

REREAD_INTERVAL_S = 5.0  # a record waits at least this long before it counts as skipped

log = logging.getLogger("packetflow.worker")


class RereadWatch:
    """Seeks back the partitions whose next record was skipped; call :meth:`check` at an
    interval."""

    def __init__(self, app: Any, offsets: StrictOffsets, metrics: Metrics) -> None:
        self.app = app
        self.offsets = offsets
        self.metrics = metrics
        self.suspects: dict[TP, tuple[int, int]] = {}  # tp -> (generation, committed offset)
        self.progress = -1

    async def check(self) -> list[TP]:
        """Seek back the partitions found stalled at this look and the last; returns them."""
        app = self.app
        if app.rebalancing or not app.flow_control.is_active():
            self.suspects.clear()
            return []
        held = {m.tp for m in list(app.consumer._unacked_messages) if not m.acked}
        progress, self.progress = self.progress, self._progress()
        if held and progress == self.progress:
            return []  # the stream is busy with one batch (a slow broker): nothing is skipped
        stalled = await self._stalled(held)
        again = [tp for tp, mark in stalled.items() if self.suspects.get(tp) == mark]
        self.suspects = {tp: mark for tp, mark in stalled.items() if tp not in again}
        for tp in again:
            await self._reread(tp, stalled[tp][1])
        return again

    def _progress(self) -> int:
        """Grows with every ack that counts (a committed offset, or one waiting for commit)."""
        consumer = self.app.consumer
        return sum(
            (self.offsets.start(tp) or 0) + len(consumer._acked.get(tp, ()))
            for tp in consumer.assignment()
        )

    async def _stalled(self, held: set[TP]) -> dict[TP, tuple[int, int]]:
        """Partitions read past a committed offset whose record is nowhere in processing."""
        consumer = self.app.consumer
        generation: int = self.app.consumer_generation_id
        found: dict[TP, tuple[int, int]] = {}
        for tp in consumer.assignment():
            if tp in held or tp in consumer._paused_partitions:
                continue
            if not self.app.topics.acks_enabled_for(tp.topic):
                continue
            start = self.offsets.start(tp)
            if start is None or start in consumer._acked_index.get(tp, ()):
                continue
            position = await consumer.position(tp)
            if position is not None and position > start:
                found[tp] = (generation, start)
        return found

    async def _reread(self, tp: TP, start: int) -> None:
        consumer = self.app.consumer
        earliest = (await consumer.earliest_offsets(tp)).get(tp)
        if earliest is not None and earliest > start:
            log.error(
                "%s[%d]: offsets %d to %d were deleted (retention) before they were processed",
                tp.topic,
                tp.partition,
                start,
                earliest - 1,
            )
            consumer._committed_offset[tp] = earliest
            start = earliest
        log.warning(
            "%s[%d]: reading again from offset %d, skipped by the stream and not read again",
            tp.topic,
            tp.partition,
            start,
        )
        self.metrics.rereads.labels(tp.topic).inc()
        await consumer.seek(tp, start)


def watch_rereads(app: Any, metrics: Metrics) -> None:
    """Run a :class:`RereadWatch` on ``app`` every :data:`REREAD_INTERVAL_S` seconds."""
    watches: list[RereadWatch] = []

    @app.timer(REREAD_INTERVAL_S, name="packetflow.rereads")  # type: ignore[untyped-decorator]
    async def reread_skipped() -> None:
        if not watches:  # the consumer exists once the worker runs
            watches.append(RereadWatch(app, strict_offsets(app), metrics))
        try:
            await watches[0].check()
        except KafkaError as exc:  # the broker is away: look again at the next interval
            log.warning("could not look for skipped records: %r", exc)
