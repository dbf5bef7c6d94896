"""Error types of the wire protocol and the exceptions that carry them.

Every failure a caller can observe is one :class:`ErrorType` with a stable
``error_code``. Exceptions raised anywhere on the request path are
:class:`PacketFlowError` subclasses; the publisher turns them into
``capability_error`` records, so no failure is ever only a stack trace.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import ValidationError

__all__ = [
    "CapabilityDefinitionError",
    "ContractViolation",
    "ErrorType",
    "ExecutionFailed",
    "ExecutionTimeout",
    "Forbidden",
    "InvalidPayload",
    "PacketFlowError",
    "PayloadTooLarge",
    "ProtocolError",
    "RateLimited",
    "Unauthenticated",
    "UnknownCapability",
    "UnsupportedVersion",
    "error_code",
    "validation_details",
]


class ErrorType(StrEnum):
    """The ``error.type`` values of a ``capability_error`` record."""

    VALIDATION_FAILED = "validation_failed"
    UNKNOWN_CAPABILITY = "unknown_capability"
    EXECUTION_FAILED = "execution_failed"
    TIMEOUT = "timeout"
    CONTRACT_VIOLATION = "contract_violation"
    PROTOCOL_ERROR = "protocol_error"
    UNSUPPORTED_VERSION = "unsupported_version"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    INTERNAL_ERROR = "internal_error"


_CODES: dict[ErrorType, str] = {
    ErrorType.VALIDATION_FAILED: "E001",
    ErrorType.UNKNOWN_CAPABILITY: "E002",
    ErrorType.EXECUTION_FAILED: "E003",
    ErrorType.TIMEOUT: "E004",
    ErrorType.CONTRACT_VIOLATION: "E005",
    ErrorType.PROTOCOL_ERROR: "E006",
    ErrorType.UNSUPPORTED_VERSION: "E007",
    ErrorType.PAYLOAD_TOO_LARGE: "E008",
    ErrorType.UNAUTHENTICATED: "E009",
    ErrorType.FORBIDDEN: "E010",
    ErrorType.RATE_LIMITED: "E011",
    ErrorType.INTERNAL_ERROR: "E099",
}


def error_code(error_type: ErrorType) -> str:
    """Return the stable ``metadata.error_code`` of an error type."""
    return _CODES[error_type]


class CapabilityDefinitionError(ValueError):
    """A capability declaration is malformed; raised at import or registration."""

    def __init__(self, capability_id: str, fault: str) -> None:
        super().__init__(f"capability {capability_id!r}: {fault}")
        self.capability_id = capability_id
        self.fault = fault


class PacketFlowError(Exception):
    """A failure on the request path that is answered with a ``capability_error``."""

    error_type: ErrorType = ErrorType.INTERNAL_ERROR

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}


class ProtocolError(PacketFlowError):
    """The record is not a valid envelope (bad bytes, JSON, fields or types)."""

    error_type = ErrorType.PROTOCOL_ERROR


class PayloadTooLarge(PacketFlowError):
    """The record is larger than the configured maximum."""

    error_type = ErrorType.PAYLOAD_TOO_LARGE


class UnsupportedVersion(PacketFlowError):
    """The envelope's major protocol version is not spoken by this worker."""

    error_type = ErrorType.UNSUPPORTED_VERSION


class UnknownCapability(PacketFlowError):
    """No capability with the requested id is registered."""

    error_type = ErrorType.UNKNOWN_CAPABILITY


class InvalidPayload(PacketFlowError):
    """The payload does not satisfy the capability's ``requires`` contract."""

    error_type = ErrorType.VALIDATION_FAILED


class ExecutionFailed(PacketFlowError):
    """The capability's execute function raised."""

    error_type = ErrorType.EXECUTION_FAILED


class ExecutionTimeout(PacketFlowError):
    """The capability did not finish within the request's timeout."""

    error_type = ErrorType.TIMEOUT


class Unauthenticated(PacketFlowError):
    """No acceptable credential: missing, forged, expired, or for another user."""

    error_type = ErrorType.UNAUTHENTICATED


class Forbidden(PacketFlowError):
    """The caller is known but may not do this (role, predicate, permission, scope)."""

    error_type = ErrorType.FORBIDDEN


class RateLimited(PacketFlowError):
    """The caller exceeded the capability's rate limit; ``details.retry_after_ms`` says when."""

    error_type = ErrorType.RATE_LIMITED


class ContractViolation(PacketFlowError):
    """The capability's result does not satisfy its ``provides`` contract."""

    error_type = ErrorType.CONTRACT_VIOLATION


def validation_details(exc: ValidationError) -> dict[str, Any]:
    """Pydantic errors as ``{"errors": [{"field", "message", "type"}]}``, without input values."""
    return {
        "errors": [
            {
                "field": ".".join(str(part) for part in err["loc"]) or "(root)",
                "message": err["msg"],
                "type": err["type"],
            }
            for err in exc.errors(include_url=False, include_input=False)
        ]
    }
