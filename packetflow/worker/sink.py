"""Hands a Faust agent's outbound records to the producer; failures are answered, not lost."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from pydantic_core import from_json

from packetflow.avro import AvroDecodeError
from packetflow.encoding import Encoding
from packetflow.envelope import CapabilityRequest, MessageType
from packetflow.errors import PacketFlowError
from packetflow.metrics import Metrics
from packetflow.pipeline.decode import reply_encoding
from packetflow.pipeline.oversize import described_dead_letter, refused_for_size
from packetflow.pipeline.publish import DLQ_HEADERS, Publisher
from packetflow.records import Outbound, RawRecord
from packetflow.worker.batches import (
    BatchProducer,
    Place,
    Sent,
    acknowledged,
    failure,
    write_all,
)

__all__ = [
    "BatchSink",
    "Resends",
    "UndeliveredRecord",
    "replacement_answer",
    "replacements",
]

log = logging.getLogger("packetflow.sink")


class UndeliveredRecord(Exception):
    """A record that must reach the broker (not a response) could not be delivered."""

    def __init__(self, record: Outbound, cause: BaseException) -> None:
        super().__init__(f"{record.kind} record to {record.topic} not delivered: {cause!r}")
        self.record = record
        self.cause = cause


def replacement_answer(publisher: Publisher, response: Outbound, exc: BaseException) -> Outbound:
    """A small ``internal_error`` answer for a response the broker refused, with the
    response's capability, intent, context, encoding and trace headers."""
    correlation = response.key.decode(errors="replace") if response.key else None
    why = "it is too large for the broker" if refused_for_size(exc) else "the broker refused it"
    error = PacketFlowError(f"the response could not be delivered: {why}")
    # the response's own headers carry the request's trace context on to the replacement
    source = RawRecord(response.topic, -1, -1, None, None, response.headers)
    encoding = reply_encoding(source)
    request = _answered(publisher, response, encoding, correlation)
    return publisher.error(
        error,
        source,
        correlation_id=correlation,
        capability_id=request.capability_id if request else None,
        request=request,
        reply_partition=response.partition,
        encoding=encoding,
    )


def _answered(
    publisher: Publisher, response: Outbound, encoding: Encoding, correlation: str | None
) -> CapabilityRequest | None:
    """What a refused response says of the request it answers (None if it cannot be read)."""
    try:
        if encoding is Encoding.AVRO:
            _, doc = publisher.encoder.codec.decode(response.value or b"")
        else:
            doc = from_json(response.value or b"")
        return CapabilityRequest.model_validate(
            {
                "id": correlation or doc["correlation_id"],
                "capability_id": doc["capability_id"],
                "intent": doc.get("intent") or "",
                "context": doc.get("context") or {},
            }
        )
    except (ValueError, KeyError, TypeError, AvroDecodeError):  # ValidationError is a ValueError
        return None


def replacements(
    refused: Sequence[Outbound], exc: BaseException, publisher: Publisher, metrics: Metrics
) -> list[Outbound]:
    """The records replacing refused ones: ``internal_error`` answers for responses, the
    described form of a dead letter refused for its size.

    Raises :class:`UndeliveredRecord` if any other record was refused: that is a loss.
    """
    answers = []
    for record in refused:
        metrics.outcome("undelivered")
        if record.kind == "dead_letter" and refused_for_size(exc):
            # the broker's limit is below the worker's: stored described, it would be refused
            # again on every redelivery
            log.error("dead letter to %s too large for the broker: %r", record.topic, exc)
            answers.append(described_dead_letter(record, DLQ_HEADERS.values()))
            continue
        if record.kind != MessageType.CAPABILITY_RESPONSE:
            log.critical("%s record to %s not delivered: %r", record.kind, record.topic, exc)
            raise UndeliveredRecord(record, exc)
        log.error("response to %r could not be delivered: %r", record.key, exc)
        answers.append(replacement_answer(publisher, record, exc))
    return answers


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
