"""Step 3: run the capability within its timeout and hold it to its ``provides``."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, ValidationError

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
        if cap.is_async:
            result = await asyncio.wait_for(cap.execute(checked.payload, ctx), timeout)
        elif cap.blocking:
            call = asyncio.to_thread(cap.execute, checked.payload, ctx)
            result = await asyncio.wait_for(call, timeout)
        else:
            result = cap.execute(checked.payload, ctx)
    except PacketFlowError:
        raise
    except TimeoutError:
        raise ExecutionTimeout(
            f"{cap.id!r} did not finish within {timeout * 1000:.0f} ms",
            {"timeout_ms": round(timeout * 1000)},
        ) from None
    except Exception as exc:
        raise ExecutionFailed(
            f"{cap.id!r} failed: {type(exc).__name__}: {exc}"[:1000],
            {"exception": type(exc).__name__},
        ) from exc
    return conform(cap, result)


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
    except ValidationError as exc:
        raise ContractViolation(
            f"result of {cap.id!r} does not satisfy its provides contract",
            validation_details(exc),
        ) from None
