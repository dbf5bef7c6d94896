"""The whole request path for one consumed record: decode → check → execute → publish."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from packetflow.encoding import Encoding
from packetflow.envelope import CapabilityRequest, Heartbeat, new_id, now_iso
from packetflow.errors import PacketFlowError
from packetflow.metrics import Metrics
from packetflow.pipeline.check import Checked, check
from packetflow.pipeline.decode import Limits, UndecodableRecord, decode, reply_encoding
from packetflow.pipeline.effect import run_effects
from packetflow.pipeline.execute import execute
from packetflow.pipeline.publish import Publisher
from packetflow.records import AuditRecord, Outbound, Outcome, RawRecord
from packetflow.registry import Registry

__all__ = ["Processor"]

log = logging.getLogger("packetflow.worker")


@dataclass(frozen=True, slots=True)
class _Attempt:
    """One consumed record on its way through the path."""

    record: RawRecord
    encoding: Encoding
    started: float = field(default_factory=time.perf_counter)


class Processor:
    """Turns each consumed record into the records that answer it. Never raises."""

    def __init__(
        self, registry: Registry, publisher: Publisher, metrics: Metrics, limits: Limits
    ) -> None:
        self.registry = registry
        self.publisher = publisher
        self.metrics = metrics
        self.limits = limits
        metrics.registered.set(len(registry))

    async def handle(self, record: RawRecord) -> list[Outbound]:
        """Every outbound record for ``record``: always an answer and an audit record."""
        attempt = _Attempt(record, reply_encoding(record))
        try:
            message = decode(record, self.limits, self.publisher.encoder.codec)
        except UndecodableRecord as bad:
            return self._undecodable(attempt, bad)
        if isinstance(message, Heartbeat):
            self.metrics.messages.labels(outcome="heartbeat").inc()
            count = len(self.registry)
            return [self.publisher.heartbeat(message, count, record, attempt.encoding)]
        try:
            return await self._request(attempt, message)
        except Exception as exc:  # a bug in PacketFlow itself: still answer, never stall
            log.exception("internal error on request %s", message.id)
            return self._failed(
                attempt, message, PacketFlowError(f"internal error: {type(exc).__name__}")
            )

    async def _request(self, attempt: _Attempt, request: CapabilityRequest) -> list[Outbound]:
        try:
            checked = check(request, self.registry)
            exec_started = time.perf_counter()
            result = await execute(checked)
            exec_s = time.perf_counter() - exec_started
        except PacketFlowError as error:
            return self._failed(attempt, request, error)
        return await self._succeeded(attempt, checked, result, exec_s)

    async def _succeeded(
        self, attempt: _Attempt, checked: Checked, result: dict[str, Any], exec_s: float
    ) -> list[Outbound]:
        request = checked.request
        cap_id = request.capability_id
        self.metrics.executions.labels(capability=cap_id).inc()
        self.metrics.duration.labels(capability=cap_id).observe(exec_s)
        self.metrics.messages.labels(outcome="ok").inc()
        effects = await run_effects(checked, result, exec_s, self.metrics)
        pub = self.publisher
        return [
            pub.response(request, result, exec_s * 1000, attempt.record, attempt.encoding),
            *(pub.effect(e) for e in effects),
            pub.audit(self._audit(attempt, "ok", request)),
        ]

    def _failed(
        self, attempt: _Attempt, request: CapabilityRequest, error: PacketFlowError
    ) -> list[Outbound]:
        log.info("request %s to %s failed: %s", request.id, request.capability_id, error.message)
        self.metrics.errors.labels(capability=request.capability_id, type=error.error_type).inc()
        self.metrics.messages.labels(outcome="error").inc()
        answer = self.publisher.error(
            error,
            attempt.record,
            correlation_id=request.id,
            capability_id=request.capability_id,
            request=request,
            reply_partition=request.metadata.reply_partition,
            encoding=attempt.encoding,
        )
        return [answer, self.publisher.audit(self._audit(attempt, "error", request, error))]

    def _undecodable(self, attempt: _Attempt, bad: UndecodableRecord) -> list[Outbound]:
        record = attempt.record
        log.warning(
            "dead letter from %s[%d]@%d: %s",
            record.topic,
            record.partition,
            record.offset,
            bad.error.message,
        )
        self.metrics.messages.labels(outcome="dead_letter").inc()
        out = [self.publisher.dead_letter(record, bad.error)]
        if bad.correlation_id is not None:
            out.append(
                self.publisher.error(
                    bad.error,
                    record,
                    correlation_id=bad.correlation_id,
                    capability_id=bad.capability_id,
                    reply_partition=bad.reply_partition,
                    encoding=attempt.encoding,
                )
            )
        audit = self._audit(attempt, "dead_letter", None, bad.error)
        audit.correlation_id, audit.capability_id = bad.correlation_id, bad.capability_id
        out.append(self.publisher.audit(audit))
        return out

    def _audit(
        self,
        attempt: _Attempt,
        outcome: Outcome,
        request: CapabilityRequest | None,
        error: PacketFlowError | None = None,
    ) -> AuditRecord:
        ctx = request.context if request else None
        record = attempt.record
        return AuditRecord(
            id=new_id(),
            timestamp=now_iso(),
            outcome=outcome,
            correlation_id=request.id if request else None,
            capability_id=request.capability_id if request else None,
            user_id=ctx.user_id if ctx else None,
            session_id=ctx.session_id if ctx else None,
            trace_id=ctx.trace_id if ctx else None,
            error_type=error.error_type.value if error else None,
            error_message=error.message if error else None,
            duration_ms=round((time.perf_counter() - attempt.started) * 1000, 3),
            worker=self.publisher.worker_id,
            source={"topic": record.topic, "partition": record.partition, "offset": record.offset},
            payload=request.payload if request else None,
        )
