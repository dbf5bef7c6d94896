"""The wire envelope of protocol v1.0: one pydantic model per message type.

Unknown top-level fields are ignored on read (graceful degradation); unknown
``context`` and ``metadata`` fields are kept, so a hop passes them on. Known fields
are strict: a string is never read as a number, nor a boolean as an integer.
"""

from __future__ import annotations

import itertools
import os
import secrets
import time
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "PROTOCOL_VERSION",
    "SUPPORTED_VERSIONS",
    "CapabilityError",
    "CapabilityRequest",
    "CapabilityResponse",
    "Context",
    "ErrorBody",
    "Heartbeat",
    "MessageType",
    "RequestMetadata",
    "new_id",
    "now_iso",
]

PROTOCOL_VERSION = "1.0"
"""The protocol version this worker writes."""

SUPPORTED_VERSIONS: tuple[str, ...] = ("1.0",)
"""Versions this worker reads; any ``1.x`` minor is accepted."""


class _Ids:
    """A random 64-bit prefix per process (drawn again after a fork) and a counter."""

    def __init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        self.prefix = secrets.token_hex(8)
        self.counter = itertools.count()


_ids = _Ids()
os.register_at_fork(after_in_child=_ids.reseed)


def new_id() -> str:
    """Return a fresh record id: 32 hex characters, unique across processes."""
    return f"{_ids.prefix}{next(_ids.counter):016x}"


_stamp: list[Any] = [-1, -1, "", ""]  # last whole second and its text, last ms and its text


def now_iso() -> str:
    """Return the current UTC time as ISO-8601 with milliseconds."""
    ms = int(time.time() * 1000)
    if ms != _stamp[2]:
        second = ms // 1000
        if second != _stamp[0]:
            _stamp[0], _stamp[1] = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _stamp[2], _stamp[3] = ms, f"{_stamp[1]}.{ms % 1000:03d}Z"
    text: str = _stamp[3]
    return text


class MessageType(StrEnum):
    """The ``type`` field of an envelope."""

    CAPABILITY_REQUEST = "capability_request"
    CAPABILITY_RESPONSE = "capability_response"
    CAPABILITY_ERROR = "capability_error"
    HEARTBEAT = "heartbeat"


class Context(BaseModel):
    """Who asks, in which session and trace; extra fields are carried through."""

    model_config = ConfigDict(extra="allow", strict=True)

    user_id: str | None = None
    session_id: str | None = None
    timestamp: str | None = None
    trace_id: str | None = None


class RequestMetadata(BaseModel):
    """Delivery hints of a request; extra fields are carried through."""

    model_config = ConfigDict(extra="allow", strict=True)

    priority: Literal["low", "normal", "high", "critical"] = "normal"
    timeout: int | None = Field(default=None, gt=0, le=2**63 - 1, description="milliseconds")
    reply_partition: int | None = Field(default=None, ge=0, le=2**31 - 1)


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: str = PROTOCOL_VERSION
    id: str = Field(default_factory=new_id, min_length=1, max_length=256)
    intent: str = ""
    context: Context = Field(default_factory=Context)


class CapabilityRequest(_Envelope):
    """A call of one capability."""

    model_config = ConfigDict(extra="ignore", strict=True)

    type: Literal[MessageType.CAPABILITY_REQUEST] = MessageType.CAPABILITY_REQUEST
    capability_id: str = Field(min_length=1, max_length=256)
    payload: dict[str, Any] = Field(default_factory=dict)
    metadata: RequestMetadata = Field(default_factory=RequestMetadata)


class CapabilityResponse(_Envelope):
    """The successful answer to a request, correlated by ``correlation_id``."""

    type: Literal[MessageType.CAPABILITY_RESPONSE] = MessageType.CAPABILITY_RESPONSE
    correlation_id: str
    capability_id: str
    payload: dict[str, Any]
    metadata: dict[str, Any] = Field(default_factory=dict)


class ErrorBody(BaseModel):
    """``payload.error`` of a ``capability_error``."""

    type: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class _ErrorPayload(BaseModel):
    error: ErrorBody


class CapabilityError(_Envelope):
    """The failed answer to a request; ``metadata.error_code`` is stable."""

    type: Literal[MessageType.CAPABILITY_ERROR] = MessageType.CAPABILITY_ERROR
    correlation_id: str | None
    capability_id: str | None
    payload: _ErrorPayload
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def error(self) -> ErrorBody:
        """The error body."""
        return self.payload.error


class Heartbeat(_Envelope):
    """A liveness probe; a worker answers with its identity and time."""

    model_config = ConfigDict(extra="ignore", strict=True)

    type: Literal[MessageType.HEARTBEAT] = MessageType.HEARTBEAT
    correlation_id: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_absent(cls, data: Any) -> Any:
        """A heartbeat needs only version, type and id: a null anywhere else means absent."""
        if isinstance(data, dict) and None in data.values():
            return {k: v for k, v in data.items() if v is not None or k not in _OPTIONAL}
        return data


_OPTIONAL = frozenset({"intent", "context", "correlation_id", "payload", "metadata"})
