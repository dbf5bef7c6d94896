"""The whole request path for one consumed record: decode → check → execute → publish."""

from __future__ import annotations

import logging
import time
from typing import Any

from packetflow.envelope import CapabilityRequest, Heartbeat, new_id, now_iso
from packetflow.errors import PacketFlowError
from packetflow.metrics import Metrics
from packetflow.pipeline.check import Checked, check
from packetflow.pipeline.decode import Limits, UndecodableRecord, decode
from packetflow.pipeline.effect import run_effects
from packetflow.pipeline.execute import execute
from packetflow.pipeline.publish import Publisher
from packetflow.records import AuditRecord, Outbound, Outcome, RawRecord
from packetflow.registry import Registry

__all__ = ["Processor"]

log = logging.getLogger("packetflow.worker")


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
        started = time.perf_counter()
        try:
            message = decode(record, self.limits)
        except UndecodableRecord as bad:
            return self._undecodable(record, bad, started)
        if isinstance(message, Heartbeat):
            self.metrics.messages.labels(outcome="heartbeat").inc()
            return [self.publisher.heartbeat(message, len(self.registry), record)]
        try:
            return await self._request(message, record, started)
        except Exception as exc:  # a bug in PacketFlow itself: still answer, never stall
            log.exception("internal error on request %s", message.id)
            error = PacketFlowError(f"internal error: {type(exc).__name__}")
            return self._failed(message, error, record, started)

    async def _request(
        self, request: CapabilityRequest, record: RawRecord, started: float
    ) -> list[Outbound]:
        try:
            checked = check(request, self.registry)
            exec_started = time.perf_counter()
            result = await execute(checked)
            exec_s = time.perf_counter() - exec_started
        except PacketFlowError as error:
            return self._failed(request, error, record, started)
        return await self._succeeded(checked, result, exec_s, record, started)

    async def _succeeded(
        self,
        checked: Checked,
        result: dict[str, Any],
        exec_s: float,
        record: RawRecord,
        started: float,
    ) -> list[Outbound]:
        request = checked.request
        cap_id = request.capability_id
        self.metrics.executions.labels(capability=cap_id).inc()
        self.metrics.duration.labels(capability=cap_id).observe(exec_s)
        self.metrics.messages.labels(outcome="ok").inc()
        effects = await run_effects(checked, result, exec_s, self.metrics)
        pub = self.publisher
        return [
            pub.response(request, result, exec_s * 1000, record),
            *(pub.effect(e) for e in effects),
            pub.audit(self._audit("ok", record, started, request)),
        ]

    def _failed(
        self, request: CapabilityRequest, error: PacketFlowError, record: RawRecord, started: float
    ) -> list[Outbound]:
        log.info("request %s to %s failed: %s", request.id, request.capability_id, error.message)
        self.metrics.errors.labels(capability=request.capability_id, type=error.error_type).inc()
        self.metrics.messages.labels(outcome="error").inc()
        answer = self.publisher.error(
            error,
            record,
            correlation_id=request.id,
            capability_id=request.capability_id,
            request=request,
            reply_partition=request.metadata.reply_partition,
        )
        return [answer, self.publisher.audit(self._audit("error", record, started, request, error))]

    def _undecodable(
        self, record: RawRecord, bad: UndecodableRecord, started: float
    ) -> list[Outbound]:
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
                )
            )
        audit = self._audit("dead_letter", record, started, None, bad.error)
        audit.correlation_id, audit.capability_id = bad.correlation_id, bad.capability_id
        out.append(self.publisher.audit(audit))
        return out

    def _audit(
        self,
        outcome: Outcome,
        record: RawRecord,
        started: float,
        request: CapabilityRequest | None,
        error: PacketFlowError | None = None,
    ) -> AuditRecord:
        ctx = request.context if request else None
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
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            worker=self.publisher.worker_id,
            source={"topic": record.topic, "partition": record.partition, "offset": record.offset},
            payload=request.payload if request else None,
        )
