"""Run a capability's declared effects after a successful execution."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping
from typing import Any, Literal

from pydantic_core import PydanticSerializationError, to_json

from packetflow.effects import AuditLog, Custom, EffectDoc, EffectInvocation, Metric
from packetflow.envelope import new_id, now_iso
from packetflow.metrics import LoopCounter, Metrics
from packetflow.pipeline.check import Checked

__all__ = ["effect_doc", "run_effects"]

audit_log = logging.getLogger("packetflow.audit_log")
log = logging.getLogger("packetflow.effects")

Status = Literal["ok", "failed"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


async def run_effects(
    checked: Checked, result: dict[str, Any], duration_s: float, metrics: Metrics
) -> list[EffectDoc]:
    """Run each declared effect once; a failing custom handler yields a ``failed`` record."""
    records: list[EffectDoc] = []
    for spec in checked.capability.effects:
        if isinstance(spec, Custom):
            data, status = await _custom(spec, checked, result)
        else:
            data, status = _builtin(spec, checked, duration_s, metrics), "ok"
        records.append(effect_doc(checked, new_id(), spec.kind, spec.name, data, status))
    return records


def _builtin(
    spec: AuditLog | Metric, checked: Checked, duration_s: float, metrics: Metrics
) -> dict[str, Any]:
    """Run an ``AuditLog`` or ``Metric`` effect; its record's ``data``."""
    req = checked.request
    if isinstance(spec, AuditLog):
        audit_log.log(
            _LEVELS.get(spec.level, logging.ERROR),
            "capability %s executed for user %s (request %s, trace %s) in %.3f ms",
            req.capability_id,
            req.context.user_id,
            req.id,
            req.context.trace_id,
            duration_s * 1000,
        )
        return {"level": spec.level, "duration_ms": round(duration_s * 1000, 3)}
    metric = metrics.business(spec)
    if isinstance(metric, LoopCounter):
        metric.inc(req.capability_id)
        return {"type": "counter", "value": 1}
    metric.observe(duration_s, req.capability_id)
    return {"type": "histogram", "value": duration_s}


def effect_doc(
    checked: Checked, doc_id: str, kind: str, name: str, data: dict[str, Any], status: Status = "ok"
) -> EffectDoc:
    """The effect record of ``checked``'s request (a capability's effect or a reactor's)."""
    req = checked.request
    return {
        "id": doc_id,
        "kind": kind,
        "name": name,
        "status": status,
        "capability_id": req.capability_id,
        "correlation_id": req.id,
        "trace_id": req.context.trace_id,
        "user_id": checked.ctx.user_id,
        "timestamp": now_iso(),
        "data": data,
    }


async def _custom(
    spec: Custom, checked: Checked, result: dict[str, Any]
) -> tuple[dict[str, Any], Status]:
    req = checked.request
    invocation = EffectInvocation(
        capability_id=req.capability_id,
        request_id=req.id,
        payload=req.payload,
        result=result,
        context=req.context.model_dump(),
        options=spec.options,
    )
    try:
        out = spec.handler(invocation)
        if inspect.isawaitable(out):
            out = await out
    except Exception as exc:
        log.warning("effect %s of %s failed: %r", spec.kind, req.capability_id, exc)
        return {"error": f"{type(exc).__name__}: {exc}"[:500]}, "failed"
    if out is None:
        return {}, "ok"
    if not isinstance(out, Mapping):
        return {"error": f"handler returned {type(out).__name__}, expected a mapping"}, "failed"
    if not all(isinstance(k, str) for k in out):
        return {"error": "handler returned a mapping with non-string keys"}, "failed"
    try:
        to_json(out)
    except PydanticSerializationError as exc:
        return {"error": f"handler returned data that is not JSON: {exc}"}, "failed"
    return dict(out), "ok"
