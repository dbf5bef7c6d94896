"""Exactly once: a loop's records and the offsets they answer, committed in one transaction.

With ``PACKETFLOW_GUARANTEE=exactly_once`` every loop that consumes (the
request loop, each reactor agent, the limiter agent) writes its answers,
effects, audit records, dead letters and hops through a transactional
producer of its own, and commits the offsets it consumed in the same
transaction (``send_offsets_to_transaction``): a ``read_committed`` consumer
sees each record once, or not at all if the worker died before the commit, in
which case the requests are read again and answered in a later transaction.

A record the broker refuses (too large for it) must not stop the loop, and
aiokafka's idempotent producer cannot go on after one: every later batch to
that partition fails with ``OutOfOrderSequenceNumber``. So the transaction is
aborted, the producer replaced by a new one under the same transactional id
(a new epoch, new sequences), and the same records written again, with small
``internal_error`` answers in place of the refused responses
(:func:`~packetflow.pipeline.refused.replacements`); a refused record of any other
kind is a loss, and the loop stops without committing.

Each producer's transactional id is ``<app id>.<worker id>.<loop>``: a worker
restarted under the same ``PACKETFLOW_WORKER_ID`` fences its predecessor at
once (its open transaction is aborted). aiokafka commits offsets with
TxnOffsetCommit v0-v1, which carry no consumer-group generation (KIP-447), so a
worker that stalls, loses its partitions and wakes up can still commit its last
transaction: fencing holds across restarts, not against such a zombie.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer, TopicPartition

from packetflow.faust.patches.fenced_offsets import fence_offset_commits
from packetflow.kafka.batches import BatchProducer, Builder, Place, Sent, acknowledged, failure
from packetflow.kafka.batches import write_all as write
from packetflow.records import Outbound
from packetflow.settings import Settings

__all__ = [
    "TRANSACTION_TIMEOUT_MS",
    "Replace",
    "TransactionalProducer",
    "Transactions",
    "transactional_id",
    "transactional_producer",
]

log = logging.getLogger("packetflow.transactions")

TRANSACTION_TIMEOUT_MS = 60_000
"""How long the broker keeps a transaction open without a commit (a worker that died
under a new worker id holds ``read_committed`` readers back at most this long)."""

Replace = Callable[[Sequence[Outbound], BaseException], list[Outbound]]
"""The records replacing a refused batch; raises if that is a loss."""


class TransactionalProducer(BatchProducer, Protocol):
    """What a loop needs of a transactional ``AIOKafkaProducer``."""

    async def start(self) -> None:
        """Connect and fence earlier producers of the same transactional id."""

    async def stop(self) -> None:
        """Close (an open transaction is left to the broker to abort)."""

    async def begin_transaction(self) -> None:
        """Open a transaction."""

    async def commit_transaction(self) -> None:
        """Commit what was written and the offsets sent to the transaction."""

    async def abort_transaction(self) -> None:
        """Abort the open transaction."""

    async def send_offsets_to_transaction(
        self, offsets: Mapping[TopicPartition, int], group_id: str
    ) -> None:
        """Commit ``offsets`` for ``group_id`` when the transaction commits."""


def transactional_id(settings: Settings, loop: str) -> str:
    """The stable transactional id of one loop of this worker."""
    return f"{settings.kafka.app_id}.{settings.kafka.worker_id}.{loop}"


def transactional_producer(settings: Settings, loop: str) -> TransactionalProducer:
    """A transactional producer for ``loop``, sized like the worker's own producer; its
    offsets are fenced by the consumer's group generation when given a
    :class:`~packetflow.faust.patches.GroupMember`."""
    fence_offset_commits()
    producer: TransactionalProducer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka.bootstrap_servers,
        client_id=f"{settings.kafka.worker_id}-{loop}",
        transactional_id=transactional_id(settings, loop),
        transaction_timeout_ms=TRANSACTION_TIMEOUT_MS,
        max_request_size=settings.ingress.transfer_bytes,
        max_batch_size=settings.tuning.producer_batch_bytes,
    )
    return producer


class Transactions:
    """One loop's transactions, on a producer replaced whenever the broker refuses a record.

    It is the loop's :class:`~packetflow.kafka.batches.BatchProducer`: records
    written through it between :meth:`begin` and :meth:`commit` belong to the
    open transaction.
    """

    def __init__(
        self,
        make: Callable[[], TransactionalProducer],
        group_id: str | Callable[[], str],
        place: Place,
        replace: Replace,
    ) -> None:
        self._make = make
        self._producer: TransactionalProducer | None = None
        self._group_id = group_id  # or, at each commit, the group and its consumer's member
        self._place = place
        self._replace = replace
        self._open = False
        self._started = False
        self.renewed = 0
        """Producers replaced after a refused record, so far."""

    @property
    def producer(self) -> TransactionalProducer:
        """The current producer (made on first use, started by :meth:`start`)."""
        if self._producer is None:
            self._producer = self._make()
        return self._producer

    async def start(self) -> None:
        """Start the current producer (this fences an earlier one of the same id)."""
        if not self._started:
            await self.producer.start()
            self._started = True

    async def stop(self) -> None:
        """Stop the producer; a transaction still open is aborted by the broker."""
        producer, self._producer, self._open = self._producer, None, False
        started, self._started = self._started, False
        if producer is not None and started:
            await producer.stop()

    async def begin(self) -> None:
        """Open a transaction unless one is open."""
        if not self._open:
            await self.start()
            await self.producer.begin_transaction()
            self._open = True

    async def commit(self, sent: Sent, offsets: Mapping[TopicPartition, int]) -> None:
        """Wait until ``sent`` is on the broker, then commit it with ``offsets``.

        Refused records are replaced and the whole transaction written again on
        a new producer (see the module doc). Raises if a refused record is a loss
        or the commit fails; the transaction is then aborted, nothing committed.
        """
        try:
            while True:
                await acknowledged(sent)
                refused = [(records, failure(fut)) for records, fut in sent if failure(fut)]
                if not refused:
                    break
                sent = await self._rewrite(sent, refused)
            if offsets:
                group = self._group_id() if callable(self._group_id) else self._group_id
                await self.producer.send_offsets_to_transaction(dict(offsets), group)
            await self.producer.commit_transaction()
            self._open = False
        except BaseException:
            await self._abort()
            raise

    async def _rewrite(
        self, sent: Sent, refused: list[tuple[list[Outbound], BaseException | None]]
    ) -> Sent:
        """Abort, replace the producer, and write ``sent`` again with its refused batches
        replaced."""
        swap: dict[int, list[Outbound]] = {}
        for records, exc in refused:
            assert exc is not None
            swap[id(records)] = self._replace(records, exc)  # raises on a loss
        log.warning("transaction aborted: the broker refused %d batches", len(refused))
        await self._abort()
        await self.stop()  # its sequences are spent on the refused batch
        self.renewed += 1
        await self.begin()
        again = [r for records, _ in sent for r in swap.get(id(records), records)]
        return await write(self, self._place, again)

    async def abort(self) -> None:
        """Abort the open transaction: nothing written in it is ever seen."""
        await self._abort()

    async def _abort(self) -> None:
        if self._open and self._producer is not None:
            self._open = False
            try:
                await self._producer.abort_transaction()
            except Exception as exc:  # the producer is replaced or the loop stops: say why
                log.warning("transaction abort failed: %r", exc)

    # BatchProducer, on the current producer
    def create_batch(self) -> Builder:
        """An empty batch of the current producer."""
        return self.producer.create_batch()

    async def send_batch(self, batch: Any, topic: str, *, partition: int) -> asyncio.Future[Any]:
        """See :class:`~packetflow.kafka.batches.BatchProducer`."""
        return await self.producer.send_batch(batch, topic, partition=partition)

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: Any = None,
    ) -> asyncio.Future[Any]:
        """See :class:`~packetflow.kafka.batches.BatchProducer`."""
        return await self.producer.send(
            topic, value, key=key, partition=partition, timestamp_ms=timestamp_ms, headers=headers
        )


class TransactionCommits:
    """The request loop's batches, each committed in a transaction of its own.

    The exactly-once counterpart of :class:`~packetflow.ingress.commits.Deliveries`,
    with its interface: a batch's transaction opens before its records are
    written (:meth:`room`) and commits with its offsets in a task of its own
    while the loop fetches and processes the next batch, whose records are
    written once that commit is done.
    """

    def __init__(self, transactions: Transactions) -> None:
        self._transactions = transactions
        self._commit: asyncio.Future[None] | None = None

    def check(self) -> None:
        """Raise why the last transaction failed, if it did."""
        commit = self._commit
        if commit is not None and commit.done():
            exc = failure(commit)
            if exc is not None:
                raise exc

    def full(self, records: int = 1) -> bool:
        """Never: the next batch waits in :meth:`room` for the last one's commit."""
        return False

    async def room(self, records: int = 1) -> None:
        """Wait for the last batch's commit, then open the next batch's transaction."""
        await self.drain()
        await self._transactions.begin()

    def add(self, sent: Sent, offsets: Mapping[TopicPartition, int], records: int = 1) -> None:
        """Commit the open transaction, holding ``sent``, with ``offsets``."""
        self._commit = asyncio.ensure_future(self._transactions.commit(sent, offsets))
        self._commit.add_done_callback(_retrieved)

    async def drain(self) -> None:
        """Wait until the last batch is committed; raise if it was not."""
        if self._commit is not None:
            await asyncio.wait([self._commit])
        self.check()

    async def acknowledged(self) -> None:
        """Wait until the last batch is committed: only then can anyone read its records."""
        await self.drain()


def _retrieved(commit: asyncio.Future[None]) -> None:
    """Mark a failed commit's exception as seen: :meth:`TransactionCommits.check` raises it."""
    if not commit.cancelled():
        commit.exception()
