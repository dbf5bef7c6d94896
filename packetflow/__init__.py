"""PacketFlow: capability-oriented stream processing on Apache Kafka.

Declare capabilities with :func:`capability` (stateful ones with
:class:`Reactor`); run them with ``faust -A packetflow worker``
(``packetflow.app`` is built on first access from ``PACKETFLOW_*`` settings);
call them with :class:`Client`; test them in-process with
:class:`CapabilityTester`. Everything not named here may change.
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
from packetflow.reactor.declare import Emit, Reactor, Window
from packetflow.registry import Registry
from packetflow.settings import Settings
from packetflow.topics import TopicNames

if TYPE_CHECKING:
    import faust

    from packetflow.client import CallError, CallTimeout, Client
    from packetflow.testing import CapabilityTester

__all__ = [  # noqa: RUF022 - grouped by concern, as a reader looks them up
    # declaring capabilities
    "CallContext",
    "Capability",
    "CapabilityDefinitionError",
    "Emit",
    "Reactor",
    "Registry",
    "Window",
    "capability",
    # effects a capability returns
    "AuditLog",
    "Custom",
    "EffectInvocation",
    "EffectRecord",
    "Metric",
    # the wire protocol
    "PROTOCOL_VERSION",
    "CapabilityError",
    "CapabilityRequest",
    "CapabilityResponse",
    "Context",
    "ErrorType",
    "Heartbeat",
    "PacketFlowError",
    "TopicNames",
    # calling and testing
    "CallError",
    "CallTimeout",
    "CapabilityTester",
    "Client",
    # running
    "Settings",
    "app",
]

_LAZY = {
    "CallError": "packetflow.client",
    "CallTimeout": "packetflow.client",
    "Client": "packetflow.client",
    "CapabilityTester": "packetflow.testing",
}
"""Names imported on first use: the client's Kafka driver and the tester's pipeline."""

__version__ = "0.1.0"

_app: faust.App | None = None


def __getattr__(name: str) -> Any:
    """Build ``packetflow.app`` lazily, so importing the library stays cheap."""
    global _app
    module = _LAZY.get(name)
    if module is not None:
        import importlib

        return getattr(importlib.import_module(module), name)
    if name == "app":
        if _app is None:
            from packetflow.worker.app import create_app

            _app = create_app()
        return _app
    raise AttributeError(f"module 'packetflow' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names, the lazy ones included."""
    return sorted(set(globals()) | set(__all__))
