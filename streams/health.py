"""``system_health``: the worker's registry and broker checks, as a capability."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from packetflow import CallContext, Metric, capability
from packetflow.envelope import PROTOCOL_VERSION, now_iso
from packetflow.health import run_checks


class HealthReport(BaseModel):
    """Overall status, each check's verdict, and when it was taken."""

    status: Literal["healthy", "degraded"]
    checks: dict[str, dict[str, Any]]
    metadata: dict[str, Any]


@capability(
    intent="Report system health and status",
    requires=[],
    provides=HealthReport,
    effects=[Metric.counter("health_checks")],
    timeout=10.0,
)
async def system_health(payload: Any, ctx: CallContext) -> HealthReport:
    """Run every registered health check; healthy only if all are."""
    results = await run_checks()
    checks = {name: {"healthy": r.healthy, **r.details} for name, r in results.items()}
    healthy = bool(results) and all(r.healthy for r in results.values())
    return HealthReport(
        status="healthy" if healthy else "degraded",
        checks=checks,
        metadata={"timestamp": now_iso(), "protocol_version": PROTOCOL_VERSION},
    )
