"""Step 3: run the capability within its timeout and hold it to its ``provides``."""

from __future__ import annotations

import asyncio
import types
from collections.abc import Awaitable, Coroutine, Generator
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
    try:
        result = await _call(cap, checked.payload, call_context(checked), timeout)
    except PacketFlowError:
        raise
    except _Expired:
        raise ExecutionTimeout(
            f"{cap.id!r} did not finish within {timeout * 1000:.0f} ms",
            {"timeout_ms": round(timeout * 1000)},
        ) from None
    except Exception as exc:  # including the capability's own TimeoutError
        raise _failed(cap.id, exc) from exc
    return conform(cap, result)


class _Expired(Exception):
    """The capability's deadline passed (not a TimeoutError of its own)."""


async def _call(cap: Capability, payload: Any, ctx: CallContext, timeout: float) -> object:
    """Call ``cap.execute``; the deadline applies while it waits.

    An async capability that finishes without ever waiting (a cache hit, a pure
    computation) runs without a timer: arming and cancelling one costs more
    than many such capabilities do. It could not have been interrupted anyway.
    """
    if cap.blocking:
        return await _within(asyncio.to_thread(cap.execute, payload, ctx), timeout)
    if not cap.is_async:
        return cap.execute(payload, ctx)
    coro = cap.execute(payload, ctx)
    started = asyncio.get_running_loop().time()
    try:
        waiting = coro.send(None)
    except StopIteration as done:
        return done.value
    spent = asyncio.get_running_loop().time() - started
    return await _within(_resume(coro, waiting), timeout - spent)


async def _within(call: Awaitable[object], timeout: float) -> object:
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            return await call
    except TimeoutError:
        if deadline.expired():
            raise _Expired from None
        raise


@types.coroutine
def _resume(coro: Coroutine[Any, Any, object], waiting: Any) -> Generator[Any, Any, object]:
    """Go on with ``coro`` (suspended on ``waiting`` after its first step) in the awaiting
    task, exactly as if the task had awaited it from the start."""
    while True:
        try:
            value = yield waiting
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:  # cancellation (the deadline), thrown into the coroutine
            try:
                waiting = coro.throw(exc)
            except StopIteration as done:
                return done.value
        else:
            try:
                waiting = coro.send(value)
            except StopIteration as done:
                return done.value


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
        # model_dump without its wrapper, which costs a third of this serialization
        dumped: dict[str, Any] = type(model).__pydantic_serializer__.to_python(model, mode="json")
        return dumped
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
