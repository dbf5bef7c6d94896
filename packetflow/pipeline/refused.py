"""Records the broker refused: what replaces them, or why that is a loss.

A refused response is answered with a small ``internal_error`` that keeps the
response's capability, context, encoding and trace headers; a dead letter
refused for its size is stored described; any other refused record is a loss
(:class:`UndeliveredRecord`), and the loop that wrote it stops without committing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

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

__all__ = ["UndeliveredRecord", "replacement_answer", "replacements", "replacer"]

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


def replacer(
    publisher: Publisher, metrics: Metrics
) -> Callable[[Sequence[Outbound], BaseException], list[Outbound]]:
    """:func:`replacements` with this worker's publisher and metrics: what a loop calls
    with the records the broker refused."""

    def replace(refused: Sequence[Outbound], exc: BaseException) -> list[Outbound]:
        return replacements(refused, exc, publisher, metrics)

    return replace
