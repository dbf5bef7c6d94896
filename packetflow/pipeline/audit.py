"""Audit documents: one per consumed record and per nested call, whatever the outcome.

Built here, apart from the path that decides the outcome, so that the request
path and nested calls describe a call the same way: who (a verified principal's
id, else the context's), what (capability, masked payload), how it ended, and
which record it came from.
"""

from __future__ import annotations

import time

from packetflow.envelope import CapabilityRequest, new_id, now_iso
from packetflow.errors import PacketFlowError
from packetflow.records import AuditDoc, Outcome, RawRecord
from packetflow.registry import Registry
from packetflow.security.identity import Principal
from packetflow.security.masking import mask

__all__ = ["Auditor"]


class Auditor:
    """Writes the audit documents of one worker's calls."""

    __slots__ = ("registry", "worker_id")

    def __init__(self, registry: Registry, worker_id: str) -> None:
        self.registry = registry
        self.worker_id = worker_id

    def doc(
        self,
        record: RawRecord,
        principal: Principal | None,
        outcome: Outcome,
        request: CapabilityRequest | None,
        error: PacketFlowError | None,
        started: float,
    ) -> AuditDoc:
        """The audit document of a call that came from ``record`` and began at ``started``
        (``time.perf_counter``); a sensitive capability's payload is masked."""
        ctx = request.context if request else None
        user_id = principal.user_id if principal and principal.verified else None
        cap = self.registry.get(request.capability_id) if request else None
        payload = request.payload if request else None
        if payload is not None and cap is not None and cap.sensitive:
            payload = mask(payload, cap.sensitive)
        return {
            "id": new_id(),
            "timestamp": now_iso(),
            "outcome": outcome,
            "correlation_id": request.id if request else None,
            "capability_id": request.capability_id if request else None,
            "user_id": user_id or (ctx.user_id if ctx else None),
            "session_id": ctx.session_id if ctx else None,
            "trace_id": ctx.trace_id if ctx else None,
            "error_type": error.error_type.value if error else None,
            "error_message": error.message if error else None,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "worker": self.worker_id,
            "source": {
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
            },
            "payload": payload,
        }
