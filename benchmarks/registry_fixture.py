"""A registry of many capabilities (half with pydantic contracts, half with field lists)."""

from __future__ import annotations

from typing import Any

from benchmarks.caps import EchoIn, EchoOut
from packetflow import AuditLog, CallContext, Capability, Metric, Registry, capability
from packetflow.envelope import CapabilityRequest

__all__ = ["build_registry", "declare_capability", "discovery_request"]


async def _noop(payload: Any, ctx: CallContext) -> dict[str, Any]:
    return {}


def declare_capability(i: int) -> Capability:
    """Capability number ``i``: odd ones with pydantic contracts, even ones with field lists."""
    if i % 2:
        declare = capability(
            id=f"team{i % 17}.cap_{i:04d}",
            intent=f"Benchmark capability number {i}",
            requires=EchoIn,
            provides=EchoOut,
            effects=[AuditLog(level="debug"), Metric.counter(f"cap_{i:04d}")],
        )
    else:
        declare = capability(
            id=f"team{i % 17}.cap_{i:04d}",
            intent=f"Benchmark capability number {i}",
            requires=["user_id", "amount", "currency"],
            provides=["status"],
        )
    return declare(_noop)


def build_registry(size: int) -> Registry:
    """``size`` capabilities plus ``packetflow.discover`` (when this PacketFlow has it)."""
    registry = Registry(declare_capability(i) for i in range(size))
    try:
        from packetflow.discovery import discovery_capability
    except ImportError:
        return registry
    registry.register(discovery_capability(registry))
    return registry


def discovery_request() -> CapabilityRequest:
    """An anonymous call of ``packetflow.discover``."""
    return CapabilityRequest(capability_id="packetflow.discover")
