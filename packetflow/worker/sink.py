"""Hands outbound records to Faust's producer; delivery failures are answered, not lost."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from packetflow.envelope import MessageType
from packetflow.errors import PacketFlowError
from packetflow.metrics import Metrics
from packetflow.pipeline.publish import Publisher
from packetflow.records import Outbound, RawRecord

__all__ = ["ProducerSink"]

log = logging.getLogger("packetflow.sink")


class ProducerSink:
    """Sends records without waiting for each acknowledgement.

    Faust flushes the producer before it commits consumed offsets, so a
    request's offset is committed only after its answer is on the broker.
    A record the broker refuses is logged and, if it was a response, replaced
    by a small ``internal_error`` answer so the caller still hears back.
    """

    def __init__(self, producer: Any, publisher: Publisher, metrics: Metrics) -> None:
        self._producer = producer
        self._publisher = publisher
        self._metrics = metrics
        self._retries: set[asyncio.Future[None]] = set()

    async def send(self, records: Sequence[Outbound]) -> None:
        """Schedule every record, in order."""
        for record in records:
            fut = await self._producer.send(
                record.topic, record.key, record.value, record.partition, None, list(record.headers)
            )
            if record.kind == MessageType.CAPABILITY_RESPONSE:
                fut.add_done_callback(lambda f, r=record: self._delivered(f, r))

    def _delivered(self, fut: asyncio.Future[Any], record: Outbound) -> None:
        exc = None if fut.cancelled() else fut.exception()
        if exc is None:
            return
        log.error("response to %r could not be delivered: %r", record.key, exc)
        self._metrics.messages.labels(outcome="undelivered").inc()
        correlation = record.key.decode() if record.key else None
        error = PacketFlowError(f"response could not be delivered: {type(exc).__name__}: {exc}")
        source = RawRecord(topic=record.topic, partition=-1, offset=-1, key=None, value=None)
        answer = self._publisher.error(
            error,
            source,
            correlation_id=correlation,
            capability_id=None,
            reply_partition=record.partition,
        )
        retry = asyncio.ensure_future(self.send([answer]))
        self._retries.add(retry)
        retry.add_done_callback(self._retries.discard)
