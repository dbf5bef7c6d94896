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

__all__ = ["BatchSink", "Resends"]

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


class BatchSink:
    """Writes a batch's outbound records into aiokafka batches, without waiting for them.

    Faust flushes the producer before it commits consumed offsets, so a hop's
    offset is committed only after its records are on the broker. A batch of
    responses the broker refuses is logged and answered by small
    ``internal_error`` replacements so the callers still hear back; Faust's
    commit waits for those too (:mod:`packetflow.faust.patches.commit_wait`). A refused
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
