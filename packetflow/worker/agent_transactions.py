"""Faust's agents under exactly once: they read committed records and commit in transactions.

With ``PACKETFLOW_GUARANTEE=exactly_once`` the request loop writes hops in
transactions, so Faust's consumer must skip the hops of aborted ones: it reads
``read_committed`` (:mod:`packetflow.faust.patches.read_committed`). Each agent
(a reactor's, the limiter's) commits the offsets of the events it answered in
the transaction of its answers (:class:`AgentTransactions`); Faust itself then
commits nothing (:mod:`packetflow.faust.patches.transacted`): its commit,
computed from acked offsets, could move a partition's offset back behind a
transaction's, and on a topic written in transactions the offsets of commit
markers never come back acked.

Faust's own ``processing_guarantee="exactly_once"`` is not used: it opens a
producer per partition and is known to send outside its transactions and to
crash on rebalances (faust-streaming issues 177, 323, 517).

An agent never answers past a record it was not given (:mod:`.holes`): it
applies and answers nothing more of that partition and asks for a rebalance,
which reads the partition again from its commit.

Reactor state itself is written to its changelog outside the transaction, and
on the broker before the answers' transaction commits
(:mod:`packetflow.reactor.changelog`): the state records which request ids and which source
offsets it has applied (:mod:`packetflow.reactor.state`), so a hop read again
after an aborted transaction is recognised as applied and answered from the
record, with its original result, in the next transaction. A changelog in
transactions would end every partition with a commit marker, which Faust's
recovery (waiting for the last offset) never reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import TopicPartition
from faust.types import TP

from packetflow.faust.patches import record_transacted
from packetflow.kafka.batches import Place, write_all
from packetflow.kafka.transactions import Transactions
from packetflow.records import Outbound
from packetflow.worker.holes import Continuity, HoleReader

__all__ = ["AgentTransactions"]

log = logging.getLogger("packetflow.transactions")


class AgentTransactions:
    """One agent's transactions: answers committed with the offsets of the events answered."""

    def __init__(
        self,
        app: Any,
        transactions: Transactions,
        place: Place,
        bundle: int,
        continuity: Continuity,
        reader: HoleReader,
        rejoin: Callable[[], None],
    ) -> None:
        self._app = app
        self._transactions = transactions
        self._place = place
        self._bundle = bundle
        self._continuity = continuity
        self._reader = reader
        self._rejoin = rejoin
        self._consumed: dict[TopicPartition, int] = {}
        self._held: set[TP] = set()  # partitions with a skipped record: nothing answered
        self._held_in: Any = None  # ... in this consumer generation, until the next

    async def start(self) -> None:
        """Start the agent's producer (fencing its predecessor under this worker id)."""
        await self._transactions.start()

    async def stop(self) -> None:
        """Stop the agent's producer and its hole reader."""
        await self._transactions.stop()
        await self._reader.stop()

    async def admit(self, event: Any) -> bool:
        """Whether to answer ``event`` now; if so, it is counted as answered by the next
        :meth:`commit`.

        Not when a record before it in its partition was never handed over: nothing more
        of that partition is answered (nor applied) until the consumer has rejoined its
        group, which this asks for, and read the partition again from its commit.
        """
        message = event.message
        tp = TP(message.topic, message.partition)
        generation = self._app.consumer_generation_id
        if generation != self._held_in:  # a rebalance: the partitions are read from the commit
            self._held, self._held_in = set(), generation
        if tp in self._held:
            return False
        hole = self._continuity.see(tp, message.offset, generation)
        if hole is not None and await self._reader.holds_record(*hole):
            where = Continuity.describe([hole])
            log.warning("records skipped by the stream at %s: read again after a rebalance", where)
            if not self._held:
                self._rejoin()
            self._held.add(tp)
            return False
        self._consumed[TopicPartition(message.topic, message.partition)] = message.offset + 1
        return True

    async def commit(self, outputs: Sequence[Outbound]) -> None:
        """Write ``outputs`` and commit them with the offsets of the events consumed since the
        last commit."""
        if not outputs and not self._consumed:
            return
        await self._transactions.begin()
        sent = await write_all(self._transactions, self._place, outputs, self._bundle)
        offsets, self._consumed = self._consumed, {}
        owned = self._app.consumer.assignment()
        if any(TP(tp.topic, tp.partition) not in owned for tp in offsets):
            # revoked meanwhile: its new owner reads these again and answers them from the
            # state records (on the broker already), so this worker must not
            log.info("answers of revoked partitions aborted: %s", sorted(map(str, offsets)))
            self._continuity.chunk_done()
            await self._transactions.abort()
            return
        self._continuity.chunk_done()
        await self._transactions.commit(sent, offsets)
        record_transacted(self._app, offsets)  # what Faust reports, where a seek goes
