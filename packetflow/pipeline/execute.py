"""Step 3: run the capability within its timeout and hold it to its ``provides``."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError

from packetflow.capability import CallContext, Capability
from packetflow.errors import (
    ContractViolation,
    ExecutionFailed,
    ExecutionTimeout,
    PacketFlowError,
    validation_details,
)
from packetflow.pipeline.check import Checked

__all__ = ["call_context", "execute", "timeout_for"]


def timeout_for(checked: Checked) -> float:
    """Seconds allowed: the request's ``metadata.timeout``, capped by the capability's."""
    requested = checked.request.metadata.timeout
    limit = checked.capability.timeout
    return limit if requested is None else min(limit, requested / 1000)


def call_context(checked: Checked) -> CallContext:
    """The :class:`CallContext` handed to the execute function."""
    return checked.ctx


async def execute(checked: Checked) -> dict[str, Any]:
    """Run the capability; return its result as a JSON-ready ``provides`` dict."""
    cap = checked.capability
    timeout = timeout_for(checked)
    ctx = call_context(checked)
    try:
        if cap.is_async or cap.blocking:
            call = (
                cap.execute(checked.payload, ctx)
                if cap.is_async
                else asyncio.to_thread(cap.execute, checked.payload, ctx)
            )
            async with asyncio.timeout(timeout) as deadline:
                result = await call
        else:
            result = cap.execute(checked.payload, ctx)
    except PacketFlowError:
        raise
    except TimeoutError as exc:
        if not (cap.is_async or cap.blocking) or not deadline.expired():
            raise _failed(cap.id, exc) from exc  # the capability's own TimeoutError
        raise ExecutionTimeout(
            f"{cap.id!r} did not finish within {timeout * 1000:.0f} ms",
            {"timeout_ms": round(timeout * 1000)},
        ) from None
    except Exception as exc:
        raise _failed(cap.id, exc) from exc
    return conform(cap, result)


def _failed(cap_id: str, exc: BaseException) -> ExecutionFailed:
    return ExecutionFailed(
        f"{cap_id!r} failed: {type(exc).__name__}: {exc}"[:1000],
        {"exception": type(exc).__name__},
    )


def conform(cap: Capability, result: object) -> dict[str, Any]:
    """Validate ``result`` against ``cap.provides``; raise :class:`ContractViolation`."""
    try:
        if isinstance(result, cap.provides):
            model = result
        elif isinstance(result, BaseModel):
            model = cap.provides.model_validate(result.model_dump())
        elif isinstance(result, dict):
            model = cap.provides.model_validate(result)
        else:
            raise ContractViolation(
                f"{cap.id!r} returned {type(result).__name__}, expected a mapping or model",
                {"returned": type(result).__name__},
            )
        return model.model_dump(mode="json")
    except PydanticSerializationError as exc:
        raise ContractViolation(
            f"result of {cap.id!r} cannot be serialized: {exc}"[:1000],
            {"reason": "not JSON-serializable"},
        ) from None
    except ValidationError as exc:
        raise ContractViolation(
            f"result of {cap.id!r} does not satisfy its provides contract",
            validation_details(exc),
        ) from None
