"""Records as they cross the Kafka boundary: consumed, and to be produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict

__all__ = ["AuditDoc", "AuditRecord", "Header", "Outbound", "RawRecord"]

Header = tuple[str, bytes]


# Records are never changed once made, but not ``frozen``: a frozen dataclass sets
# each field through object.__setattr__, three times the cost of a plain one, and
# the request path makes four of these per request.


@dataclass(slots=True)
class RawRecord:
    """A consumed record, exactly as the broker delivered it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...] = ()
    timestamp_ms: int | None = None

    def header(self, name: str) -> bytes | None:
        """The last value of header ``name`` (case-insensitive), or None."""
        for key, value in reversed(self.headers):
            if key == name or key.lower() == name:
                return value
        return None


@dataclass(slots=True)
class Outbound:
    """A record to produce: topic, key, value, headers, optional partition."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...] = ()
    partition: int | None = None
    kind: str = field(default="", compare=False)


Outcome = Literal["ok", "error", "dead_letter", "heartbeat"]


class AuditRecord(BaseModel):
    """One attempt, whatever its outcome, as published on the audit topic."""

    model_config = ConfigDict(extra="ignore")

    id: str
    timestamp: str
    outcome: Outcome
    correlation_id: str | None
    capability_id: str | None
    user_id: str | None = None
    session_id: str | None = None
    trace_id: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    duration_ms: float
    worker: str
    source: dict[str, Any]
    payload: dict[str, Any] | None = None


class AuditDoc(TypedDict):
    """An :class:`AuditRecord` as the worker builds it: a plain mapping, same fields, same order."""

    id: str
    timestamp: str
    outcome: Outcome
    correlation_id: str | None
    capability_id: str | None
    user_id: str | None
    session_id: str | None
    trace_id: str | None
    error_type: str | None
    error_message: str | None
    duration_ms: float
    worker: str
    source: dict[str, Any]
    payload: dict[str, Any] | None
