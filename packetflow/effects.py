"""Effect declarations: what a capability does besides answering.

``AuditLog`` writes a structured log line, ``Metric`` feeds a Prometheus
counter or histogram, ``Custom`` calls a user handler. Every effect that runs
is also published as an :class:`EffectRecord` on the effects topic.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict

__all__ = [
    "AuditLog",
    "Custom",
    "EffectDoc",
    "EffectInvocation",
    "EffectRecord",
    "EffectSpec",
    "Metric",
]

_METRIC_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_RESERVED_KINDS = frozenset({"audit_log", "metrics"})


@dataclass(frozen=True, slots=True)
class AuditLog:
    """Log every execution at ``level`` (logger ``packetflow.audit_log``)."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    kind: Literal["audit_log"] = field(default="audit_log", init=False)

    @property
    def name(self) -> str:
        """The effect's name in effect records."""
        return "audit_log"


@dataclass(frozen=True, slots=True)
class Metric:
    """Count executions, or observe their duration, in a business metric."""

    type: Literal["counter", "histogram"]
    name: str
    kind: Literal["metrics"] = field(default="metrics", init=False)

    def __post_init__(self) -> None:
        if self.type not in ("counter", "histogram"):
            raise ValueError(f"metric type must be 'counter' or 'histogram', not {self.type!r}")
        if not _METRIC_NAME.match(self.name):
            raise ValueError(f"metric name {self.name!r} is not a valid Prometheus name")

    @classmethod
    def counter(cls, name: str) -> Metric:
        """A counter incremented once per successful execution."""
        return cls("counter", name)

    @classmethod
    def histogram(cls, name: str) -> Metric:
        """A histogram of execution durations in seconds."""
        return cls("histogram", name)


@dataclass(frozen=True, slots=True)
class EffectInvocation:
    """What a custom effect handler is told about one successful execution."""

    capability_id: str
    request_id: str
    payload: Mapping[str, Any]
    result: Mapping[str, Any]
    context: Mapping[str, Any]
    options: Mapping[str, Any]


HandlerResult = Mapping[str, Any] | Awaitable[Mapping[str, Any] | None] | None
CustomHandler = Callable[[EffectInvocation], HandlerResult]


@dataclass(frozen=True, slots=True)
class Custom:
    """A user-defined effect: ``handler`` runs after each successful execution.

    Whatever mapping the handler returns becomes the effect record's ``data``.
    """

    kind: str
    handler: CustomHandler
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _METRIC_NAME.match(self.kind) or self.kind in _RESERVED_KINDS:
            raise ValueError(
                f"custom effect kind {self.kind!r} must be an identifier, not reserved"
            )
        if not callable(self.handler):
            raise ValueError(f"custom effect {self.kind!r}: handler is not callable")

    @property
    def name(self) -> str:
        """The effect's name in effect records."""
        return self.kind


EffectSpec = AuditLog | Metric | Custom


class EffectRecord(BaseModel):
    """One executed effect, as published on the effects topic."""

    model_config = ConfigDict(extra="ignore")

    id: str
    kind: str
    name: str
    status: Literal["ok", "failed"] = "ok"
    capability_id: str
    correlation_id: str
    trace_id: str | None = None
    user_id: str | None = None
    timestamp: str
    data: dict[str, Any] = {}


class EffectDoc(TypedDict):
    """An :class:`EffectRecord` as the worker builds it: a plain mapping, same fields, same
    order (validating data PacketFlow made itself would only cost time)."""

    id: str
    kind: str
    name: str
    status: Literal["ok", "failed"]
    capability_id: str
    correlation_id: str
    trace_id: str | None
    user_id: str | None
    timestamp: str
    data: dict[str, Any]
