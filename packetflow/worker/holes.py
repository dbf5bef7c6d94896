"""Exactly once: an agent never commits past a record of its topic it did not process.

At least once, Faust's commit holds at a record its stream skipped
(:mod:`packetflow.faust.patches.offsets`) and :mod:`packetflow.faust.patches.rereads`
seeks back to it. Exactly once, an agent commits the offset after the last
event it answered (:mod:`.agent_transactions`), and the offsets between two
events it answered are not all records: the request loop's transactions leave
a commit marker in the topic after their hops, which a ``read_committed``
consumer never delivers. So each agent follows its partitions
(:class:`Continuity`): an event after a *hole* (offsets since the last event
that it was not given) is fine if Faust's fetch loop passed over those offsets
itself (:class:`~packetflow.faust.patches.FetchGaps`: markers and aborted
records), and otherwise the hole is read (:class:`HoleReader`): if it holds a
record, that record was skipped (the crash test lost requests exactly there,
around rebalances, before this check). The agent then answers nothing more of
that partition and asks for a rebalance, which reads it again from its commit
(:mod:`.agent_transactions`). Seeking back at once does not work: Faust's fetch
loop drops the records read again while it still hands out the ones it fetched
before the seek.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.types import TP

from packetflow.faust.patches import FetchGaps

__all__ = ["Continuity", "Hole", "HoleReader"]

log = logging.getLogger("packetflow.transactions")

Hole = tuple[TP, int, int]
"""A partition and the offsets ``[start, end)`` an agent was not given."""


class HoleReader:
    """Reads a hole with a ``read_committed`` consumer of its own: does it hold a record?"""

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self._consumer: AIOKafkaConsumer | None = None

    async def holds_record(self, tp: TP, start: int, end: int) -> bool:
        """Whether a committed record sits at an offset in ``[start, end)``."""
        consumer = await self._started()
        part = TopicPartition(tp.topic, tp.partition)
        consumer.assign([part])
        consumer.seek(part, start)
        while await consumer.position(part) < end:
            fetched = await consumer.getmany(part, timeout_ms=1000)
            if any(m.offset < end for m in fetched.get(part, ())):
                return True
        return False

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                enable_auto_commit=False,
                isolation_level="read_committed",
                group_id=None,
            )
            await consumer.start()
            self._consumer = consumer
        return self._consumer

    async def stop(self) -> None:
        """Close the consumer, if one was started."""
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None


class Continuity:
    """One agent's view of its partitions: where each chunk began, the holes before events.

    The gaps name where each partition was sought at the last rebalance, and in
    which consumer generation (:attr:`FetchGaps.sought`): the first event of a
    generation is checked against it only if it was sought in that generation (a
    seek may still be under way: then nothing is known before it).
    """

    def __init__(self, gaps: FetchGaps) -> None:
        self._gaps = gaps
        self._sought = gaps.sought
        self._next: dict[TP, int] = {}
        self._generation: Any = None
        self.first: dict[TP, int] = {}
        """The first offset of each partition in the chunk: where an aborted chunk goes back."""
        self.holes: list[Hole] = []
        """Holes before this chunk's events that Faust's fetch loop does not account for."""

    def see(self, tp: TP, offset: int, generation: Any) -> Hole | None:
        """An event at ``offset`` of ``tp`` is being answered, in consumer ``generation``;
        returns the hole before it that Faust's fetch loop does not account for, if any."""
        if generation != self._generation:  # a rebalance: partitions were sought again
            self._next.clear()
            self._generation = generation
        expected = self._next.get(tp)
        if expected is None:
            at = self._sought.get(tp)
            expected = at[1] if at is not None and at[0] == generation else None
        hole: Hole | None = None
        if (
            expected is not None
            and offset > expected
            and not self._gaps.covers(tp, expected, offset)
        ):
            hole = (tp, expected, offset)
            self.holes.append(hole)
        self.first.setdefault(tp, offset if expected is None else min(expected, offset))
        self._next[tp] = offset + 1
        return hole

    def chunk_done(self) -> None:
        """The chunk is committed: the next one starts where this one ended."""
        self.first.clear()
        self.holes.clear()

    @staticmethod
    def describe(holes: Iterable[Hole]) -> str:
        """``topic[p]@start-end`` of each hole, for the log."""
        return ", ".join(f"{tp.topic}[{tp.partition}]@{a}-{b - 1}" for tp, a, b in holes)
