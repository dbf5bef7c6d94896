"""Hands a Faust agent's outbound records to the producer; failures are answered, not lost."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from packetflow.kafka.batches import (
    BatchProducer,
    Place,
    Sent,
    acknowledged,
    failure,
    write_all,
)
from packetflow.metrics import Metrics
from packetflow.pipeline.publish import Publisher
from packetflow.pipeline.refused import UndeliveredRecord, replacements
from packetflow.records import Outbound

__all__ = [
    "BatchSink",
    "Resends",
    "commit_after_resends",
]

log = logging.getLogger("packetflow.sink")


class Resends:
    """Replacement answers on their way to the broker, from every sink of a worker."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Future[None]] = set()

    def add(self, task: asyncio.Future[None]) -> None:
        """Track ``task`` until it is done."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Return once every replacement is delivered, or refused and handed to ``on_lost``."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))


def commit_after_resends(app: Any, resends: Resends) -> None:
    """Make Faust's commit wait for the replacement answers of refused responses.

    Faust flushes the producer and commits. A response refused in that flush
    has its replacement still to send: without this, the commit would pass the
    request while its replacement could still be refused (a loss).
    """
    consumer = app.consumer
    commit_offsets = consumer._commit_offsets
    if getattr(commit_offsets, "packetflow_resends", None) is resends:
        return  # installed already

    async def commit_when_answered(offsets: Any, start_new_transaction: bool = True) -> bool:
        await app.producer.flush()  # every delivery known: refused responses have resends
        await resends.settle()  # ... delivered, or the process has halted
        done: bool = await commit_offsets(offsets, start_new_transaction=start_new_transaction)
        return done

    commit_when_answered.packetflow_resends = resends  # type: ignore[attr-defined]
    consumer._commit_offsets = commit_when_answered


class BatchSink:
    """Writes a batch's outbound records into aiokafka batches, without waiting for them.

    Faust flushes the producer before it commits consumed offsets, so a hop's
    offset is committed only after its records are on the broker. A batch of
    responses the broker refuses is logged and answered by small
    ``internal_error`` replacements so the callers still hear back; Faust's
    commit waits for those too (:func:`commit_after_resends`). A refused
    batch holding any other record (an effect, an audit record, a dead letter,
    a replacement) calls ``on_lost`` from the delivery callback, before Faust's
    flush returns to its commit: in a worker that is :func:`~.halt.halt`, so
    the process ends rather than commit past a request whose records are not
    on the broker, and the request is redelivered.
    """

    def __init__(
        self,
        producer: BatchProducer,
        place: Place,
        publisher: Publisher,
        metrics: Metrics,
        on_lost: Callable[[BaseException], None],
        resends: Resends,
        bundle: int = 1,
    ) -> None:
        self._producer = producer
        self._bundle = bundle
        self._place = place
        self._publisher = publisher
        self._metrics = metrics
        self._on_lost = on_lost
        self._resends = resends

    async def send(self, records: Sequence[Outbound]) -> Sent:
        """Queue every record, each partition's in order; returns the batches sent."""
        sent = await write_all(self._producer, self._place, records, self._bundle)
        for batch, delivery in sent:
            delivery.add_done_callback(functools.partial(self._delivered, batch))
        return sent

    async def _resend(self, answers: Sequence[Outbound]) -> None:
        """Send replacement answers and wait until their delivery callbacks have run."""
        await acknowledged(await self.send(answers))

    def _delivered(self, batch: list[Outbound], fut: asyncio.Future[Any]) -> None:
        exc = failure(fut)
        if exc is None:
            return
        try:
            answers = replacements(batch, exc, self._publisher, self._metrics)
        except UndeliveredRecord:
            self._on_lost(exc)
            return
        self._resends.add(asyncio.ensure_future(self._resend(answers)))
