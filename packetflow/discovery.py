"""``packetflow.discover``: the capabilities the caller may call, with their contracts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from packetflow.capability import CallContext, Capability, capability
from packetflow.registry import Registry
from packetflow.security.authorize import may_call

__all__ = ["DISCOVER_ID", "discovery_capability"]

DISCOVER_ID = "packetflow.discover"


class Discovered(BaseModel):
    """Contracts of the capabilities this caller may call, sorted by id."""

    user_id: str | None
    capabilities: list[dict[str, Any]]


def discovery_capability(registry: Registry) -> Capability:
    """A capability listing ``registry`` filtered by what the caller may call."""

    @capability(
        id=DISCOVER_ID,
        intent="List the capabilities the caller may call, with their contracts",
        provides=Discovered,
    )
    def discover(payload: Any, ctx: CallContext) -> Discovered:
        visible = [registry.describe(c.id) for c in registry if may_call(c, ctx)]
        return Discovered(user_id=ctx.user_id, capabilities=sorted(visible, key=lambda d: d["id"]))

    return discover
