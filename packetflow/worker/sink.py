"""Hands outbound records to Faust's producer; delivery failures are answered, not lost."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from packetflow.envelope import MessageType
from packetflow.errors import PacketFlowError
from packetflow.metrics import Metrics
from packetflow.pipeline.publish import Publisher
from packetflow.records import Outbound, RawRecord

__all__ = ["ProducerSink", "UndeliveredRecord", "replacement_answer"]

log = logging.getLogger("packetflow.sink")


class UndeliveredRecord(Exception):
    """A record that must reach the broker (not a response) could not be delivered."""

    def __init__(self, record: Outbound, cause: BaseException) -> None:
        super().__init__(f"{record.kind} record to {record.topic} not delivered: {cause!r}")
        self.record = record
        self.cause = cause


def replacement_answer(publisher: Publisher, response: Outbound, exc: BaseException) -> Outbound:
    """A small ``internal_error`` answer for a response the broker refused."""
    correlation = response.key.decode() if response.key else None
    error = PacketFlowError(f"response could not be delivered: {type(exc).__name__}: {exc}")
    source = RawRecord(topic=response.topic, partition=-1, offset=-1, key=None, value=None)
    return publisher.error(
        error,
        source,
        correlation_id=correlation,
        capability_id=None,
        reply_partition=response.partition,
    )


class ProducerSink:
    """Sends records without waiting for each acknowledgement.

    Faust flushes the producer before it commits consumed offsets, so a
    request's offset is committed only after its answer is on the broker.
    A response the broker refuses is logged and replaced by a small
    ``internal_error`` answer so the caller still hears back. Any other record
    that cannot be delivered (an internal hop, an effect, an audit record, a
    dead letter) calls ``on_lost`` from the delivery callback, before Faust's
    flush returns to its commit: in a worker that is :func:`~.halt.halt`, so
    the process ends rather than commit past a request whose records are not
    on the broker, and the request is redelivered.
    """

    def __init__(
        self,
        producer: Any,
        publisher: Publisher,
        metrics: Metrics,
        on_lost: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._producer = producer
        self._publisher = publisher
        self._metrics = metrics
        self._on_lost = on_lost
        self._retries: set[asyncio.Future[None]] = set()

    async def send(self, records: Sequence[Outbound]) -> None:
        """Schedule every record, in order."""
        for record in records:
            fut = await self._producer.send(
                record.topic, record.key, record.value, record.partition, None, list(record.headers)
            )
            if record.kind == MessageType.CAPABILITY_RESPONSE:
                fut.add_done_callback(lambda f, r=record: self._delivered(f, r))
            elif self._on_lost is not None:
                fut.add_done_callback(lambda f, r=record: self._must_deliver(f, r))

    def _must_deliver(self, fut: asyncio.Future[Any], record: Outbound) -> None:
        exc = None if fut.cancelled() else fut.exception()
        if exc is None or self._on_lost is None:
            return
        log.critical("%s record to %s could not be delivered: %r", record.kind, record.topic, exc)
        self._metrics.outcome("undelivered")
        self._on_lost(exc)

    def _delivered(self, fut: asyncio.Future[Any], record: Outbound) -> None:
        exc = None if fut.cancelled() else fut.exception()
        if exc is None:
            return
        log.error("response to %r could not be delivered: %r", record.key, exc)
        self._metrics.outcome("undelivered")
        answer = replacement_answer(self._publisher, record, exc)
        retry = asyncio.ensure_future(self.send([answer]))
        self._retries.add(retry)
        retry.add_done_callback(self._retries.discard)
