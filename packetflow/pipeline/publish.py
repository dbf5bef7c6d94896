"""Step 4: turn outcomes into records for the response, error, effect, audit and DLQ topics.

Answers (response, error, heartbeat) are written in the request's encoding;
effect and audit records in the publisher's configured encoding.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import BaseModel

from packetflow.effects import EffectDoc
from packetflow.encoding import Encoder, Encoding
from packetflow.envelope import (
    PROTOCOL_VERSION,
    CapabilityError,
    CapabilityRequest,
    Context,
    ErrorBody,
    Heartbeat,
    MessageType,
    new_id,
)
from packetflow.errors import PacketFlowError, error_code
from packetflow.pipeline.oversize import DESCRIBED, described_dead_letter, fits
from packetflow.records import AuditDoc, Header, Outbound, RawRecord
from packetflow.security.authenticate import AUTH_HEADER
from packetflow.topics import TopicNames

__all__ = ["DLQ_HEADERS", "Publisher", "Sink"]

TRACE_HEADERS = frozenset({"traceparent", "tracestate"})

_CONTENT_TYPE: dict[Encoding, Header] = {e: e.header for e in Encoding}
"""Each encoding's ``content-type`` header, made once (the property costs a call per record)."""

DLQ_HEADERS = {
    "topic": "__connect.errors.topic",
    "partition": "__connect.errors.partition",
    "offset": "__connect.errors.offset",
    "class": "__connect.errors.exception.class.name",
    "message": "__connect.errors.exception.message",
    "type": "packetflow.error.type",
}
"""Headers added to a dead letter (Kafka Connect's names, so its tooling reads them)."""


class Sink(Protocol):
    """Where outbound records go: the Kafka producer, or a list in tests."""

    async def send(self, records: Sequence[Outbound]) -> None:
        """Hand every record to the transport, in order."""


class Publisher:
    """Builds the outbound record of each outcome; pure, no I/O."""

    def __init__(
        self,
        topics: TopicNames,
        worker_id: str,
        reply_partitions: int,
        *,
        encoder: Encoder | None = None,
        encoding: Encoding = Encoding.JSON,
        max_record_bytes: int = 1_048_576,
    ) -> None:
        self.topics = topics
        self.max_record_bytes = max_record_bytes
        """The largest record the broker takes (``PACKETFLOW_MAX_RECORD_BYTES``)."""
        self.worker_id = worker_id
        self.reply_partitions = reply_partitions
        self.encoder = encoder or Encoder()
        self.encoding = encoding

    def response(
        self,
        request: CapabilityRequest,
        result: dict[str, Any],
        duration_ms: float,
        source: RawRecord,
        encoding: Encoding = Encoding.JSON,
        extra: dict[str, Any] | None = None,
    ) -> Outbound:
        """The ``capability_response`` to a request; ``extra`` adds metadata fields.

        Built as a mapping shaped like :class:`CapabilityResponse` (its fields, in
        its order): validating data PacketFlow made itself would only cost time.
        """
        doc = {
            "version": PROTOCOL_VERSION,
            "id": new_id(),
            "intent": request.intent,
            "context": request.context,
            "type": MessageType.CAPABILITY_RESPONSE.value,
            "correlation_id": request.id,
            "capability_id": request.capability_id,
            "payload": result,
            "metadata": {
                "execution_time_ms": round(duration_ms, 3),
                "worker": self.worker_id,
                **(extra or {}),
            },
        }
        partition = request.metadata.reply_partition
        return self._reply("response", doc, request.id, partition, source, encoding)

    def error(
        self,
        error: PacketFlowError,
        source: RawRecord,
        *,
        correlation_id: str | None,
        capability_id: str | None,
        request: CapabilityRequest | None = None,
        reply_partition: int | None = None,
        encoding: Encoding = Encoding.JSON,
    ) -> Outbound:
        """The ``capability_error`` answering a request (or an undecodable record)."""
        metadata: dict[str, Any] = {
            "error_code": error_code(error.error_type),
            "worker": self.worker_id,
        }
        retry_after = error.details.get("retry_after_ms")
        if retry_after is not None:
            metadata["retry_after"] = retry_after
        record = CapabilityError(
            id=new_id(),
            correlation_id=correlation_id,
            intent=request.intent if request else "",
            capability_id=capability_id,
            payload={"error": _error_body(error)},
            context=request.context if request else Context(),
            metadata=metadata,
        )
        return self._reply("error", record, correlation_id, reply_partition, source, encoding)

    def heartbeat(
        self,
        beat: Heartbeat,
        capabilities: int,
        source: RawRecord,
        encoding: Encoding = Encoding.JSON,
    ) -> Outbound:
        """The worker's answer to a heartbeat: its identity and time."""
        record = Heartbeat(
            id=new_id(),
            correlation_id=beat.id,
            context=beat.context,
            payload={"worker": self.worker_id, "status": "alive", "capabilities": capabilities},
        )
        partition = beat.metadata.get("reply_partition")
        partition = partition if isinstance(partition, int) and partition >= 0 else None
        return self._reply("heartbeat", record, beat.id, partition, source, encoding)

    def effect(self, record: EffectDoc, key: str | None = None) -> Outbound:
        """An effect record, keyed by ``key`` (a reactor's state key) or correlation id."""
        value = self.encoder.encode("effect", record, self.encoding)
        key_bytes = (key or record["correlation_id"]).encode()
        headers = (_CONTENT_TYPE[self.encoding],)
        out = Outbound(self.topics.effects, key_bytes, value, headers, None, "effect")
        if fits(out, self.max_record_bytes):
            return out
        # refused by the broker, it would halt the worker on every redelivery: its data is
        # described instead (id, kind and key stay, so consumers still see it happened)
        digest = hashlib.sha256(value).hexdigest()
        described = {"omitted": DESCRIBED, "bytes": len(value), "sha256": digest}
        out.value = self.encoder.encode("effect", {**record, "data": described}, self.encoding)
        return out

    def audit(self, record: AuditDoc) -> Outbound:
        """An audit record (see :func:`~packetflow.records.audit_doc`), keyed by correlation id
        when there is one."""
        correlation = record["correlation_id"]
        key = correlation.encode() if correlation else None
        headers = (_CONTENT_TYPE[self.encoding],)
        value = self.encoder.encode("audit", record, self.encoding)
        out = Outbound(self.topics.audit, key, value, headers, None, "audit")
        if fits(out, self.max_record_bytes):
            return out
        # the payload is what makes it large: the attempt is still audited, without it
        omitted = {"omitted": DESCRIBED, "bytes": len(value)}
        out.value = self.encoder.encode("audit", {**record, "payload": omitted}, self.encoding)
        return out

    def dead_letter(self, source: RawRecord, error: PacketFlowError) -> Outbound:
        """The original record, unchanged but for its credential, plus headers naming where it
        came from and why. A credential (``authorization``) is never copied to the DLQ. A record
        too large for the broker is described instead (:mod:`.oversize`)."""
        headers = (
            *(h for h in source.headers if h[0].lower() != AUTH_HEADER),
            (DLQ_HEADERS["topic"], source.topic.encode()),
            (DLQ_HEADERS["partition"], str(source.partition).encode()),
            (DLQ_HEADERS["offset"], str(source.offset).encode()),
            (DLQ_HEADERS["class"], type(error).__name__.encode()),
            (DLQ_HEADERS["message"], error.message.encode("utf-8", "replace")[:4096]),
            (DLQ_HEADERS["type"], error.error_type.value.encode()),
        )
        out = Outbound(self.topics.dlq, source.key, source.value, headers, kind="dead_letter")
        if fits(out, self.max_record_bytes):
            return out
        return described_dead_letter(out, DLQ_HEADERS.values())

    def _reply(
        self,
        schema: str,
        record: BaseModel | dict[str, Any],
        correlation_id: str | None,
        partition: int | None,
        source: RawRecord,
        encoding: Encoding,
    ) -> Outbound:
        topic = self.topics.errors if schema == "error" else self.topics.responses
        kind = str(record["type"] if isinstance(record, dict) else getattr(record, "type", ""))
        headers: list[Header] = [_CONTENT_TYPE[encoding], ("packetflow-type", kind.encode())]
        if correlation_id:
            headers.append(("packetflow-correlation-id", correlation_id.encode()))
        for header in source.headers:
            if header[0] in TRACE_HEADERS:
                headers.append(header)
        key = correlation_id.encode() if correlation_id else None
        if partition is not None and partition >= self.reply_partitions:
            partition = None  # a partition the topic does not have: fall back to the key
        value = self.encoder.encode(schema, record, encoding)
        return Outbound(topic, key, value, tuple(headers), partition, kind)


def _error_body(error: PacketFlowError) -> ErrorBody:
    return ErrorBody(type=error.error_type.value, message=error.message, details=error.details)
