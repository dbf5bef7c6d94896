"""PacketFlow: capability-oriented stream processing on Apache Kafka.

Declare capabilities with :func:`capability`; run them with
``faust -A packetflow worker`` (``packetflow.app`` is built on first access
from ``PACKETFLOW_*`` settings); call them with :class:`Client`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from packetflow.capability import CallContext, Capability, capability
from packetflow.effects import AuditLog, Custom, EffectInvocation, EffectRecord, Metric
from packetflow.envelope import (
    PROTOCOL_VERSION,
    CapabilityError,
    CapabilityRequest,
    CapabilityResponse,
    Context,
    Heartbeat,
)
from packetflow.errors import CapabilityDefinitionError, ErrorType, PacketFlowError
from packetflow.registry import Registry
from packetflow.settings import Settings
from packetflow.topics import TopicNames

if TYPE_CHECKING:
    import faust

__all__ = [
    "PROTOCOL_VERSION",
    "AuditLog",
    "CallContext",
    "Capability",
    "CapabilityDefinitionError",
    "CapabilityError",
    "CapabilityRequest",
    "CapabilityResponse",
    "Context",
    "Custom",
    "EffectInvocation",
    "EffectRecord",
    "ErrorType",
    "Heartbeat",
    "Metric",
    "PacketFlowError",
    "Registry",
    "Settings",
    "TopicNames",
    "app",
    "capability",
]

__version__ = "0.1.0"

_app: faust.App | None = None


def __getattr__(name: str) -> Any:
    """Build ``packetflow.app`` lazily, so importing the library stays cheap."""
    global _app
    if name == "app":
        if _app is None:
            from packetflow.worker.app import create_app

            _app = create_app()
        return _app
    raise AttributeError(f"module 'packetflow' has no attribute {name!r}")
