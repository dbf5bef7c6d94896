"""Step 3: run the capability within its timeout and hold it to its ``provides``."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from packetflow import CallContext, Capability, Registry, capability
from packetflow.envelope import CapabilityRequest, Context, RequestMetadata
from packetflow.errors import (
    ContractViolation,
    ErrorType,
    ExecutionFailed,
    ExecutionTimeout,
    InvalidPayload,
    PacketFlowError,
)
from packetflow.pipeline.check import Checked, check
from packetflow.pipeline.execute import execute, timeout_for


class Greeting(BaseModel):
    text: str
    length: int


class Partial(BaseModel):
    text: str


class LookAlike(BaseModel):
    text: str
    length: int
    extra: str = "dropped"


def checked(
    cap: Capability, payload: dict[str, Any] | None = None, timeout_ms: int | None = None
) -> Checked:
    request = CapabilityRequest(
        id="req-1",
        capability_id=cap.id,
        payload=payload or {},
        context=Context(user_id="u1", trace_id="t1"),
        metadata=RequestMetadata(timeout=timeout_ms),
    )
    return check(request, Registry([cap]))


async def run(cap: Capability, timeout_ms: int | None = None) -> dict[str, Any]:
    return await execute(checked(cap, {"name": "Ada"}, timeout_ms))


def returning(result: Any, **options: Any) -> Capability:
    @capability(intent="Return a fixed result", requires=["name"], provides=Greeting, **options)
    def fixed(payload: Any, ctx: CallContext) -> Any:
        return result

    return fixed


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """An event a blocking capability waits on; set at teardown so its thread ends."""
    event = threading.Event()
    yield event
    event.set()


async def test_async_capability_gets_payload_and_context() -> None:
    seen: list[CallContext] = []

    @capability(intent="Greet", requires=["name"], provides=Greeting)
    async def greet(payload: Any, ctx: CallContext) -> Greeting:
        seen.append(ctx)
        return Greeting(text=f"Hi {payload.name}", length=len(payload.name))

    assert await run(greet, timeout_ms=5000) == {"text": "Hi Ada", "length": 3}
    [ctx] = seen
    assert (ctx.request_id, ctx.capability_id, ctx.user_id, ctx.trace_id) == (
        "req-1",
        "greet",
        "u1",
        "t1",
    )
    assert ctx.metadata.timeout == 5000


async def test_sync_capability_runs_on_the_event_loop_thread() -> None:
    threads: list[int] = []

    @capability(intent="Greet", requires=["name"], provides=["text"])
    def greet(payload: Any, ctx: CallContext) -> dict[str, Any]:
        threads.append(threading.get_ident())
        return {"text": payload.name}

    assert await run(greet) == {"text": "Ada"}
    assert threads == [threading.get_ident()]


async def test_blocking_capability_runs_off_the_event_loop() -> None:
    threads: list[int] = []

    @capability(intent="Greet", requires=["name"], provides=["text"], blocking=True)
    def greet(payload: Any, ctx: CallContext) -> dict[str, Any]:
        threads.append(threading.get_ident())
        return {"text": payload.name}

    assert await run(greet) == {"text": "Ada"}
    assert len(threads) == 1
    assert threads != [threading.get_ident()]


async def test_async_capability_over_the_request_timeout() -> None:
    @capability(intent="Hang")
    async def hang(payload: Any, ctx: CallContext) -> None:
        await asyncio.Event().wait()

    with pytest.raises(ExecutionTimeout) as info:
        await run(hang, timeout_ms=20)
    assert info.value.error_type is ErrorType.TIMEOUT
    assert info.value.message == "'hang' did not finish within 20 ms"
    assert info.value.details == {"timeout_ms": 20}


async def test_blocking_capability_over_the_request_timeout(release: threading.Event) -> None:
    @capability(intent="Hang", blocking=True)
    def hang(payload: Any, ctx: CallContext) -> None:
        release.wait(60)

    with pytest.raises(ExecutionTimeout) as info:
        await run(hang, timeout_ms=20)
    assert info.value.details == {"timeout_ms": 20}


async def test_capability_timeout_caps_the_request_timeout() -> None:
    @capability(intent="Hang", timeout=0.02)
    async def hang(payload: Any, ctx: CallContext) -> None:
        await asyncio.Event().wait()

    with pytest.raises(ExecutionTimeout) as info:
        await run(hang, timeout_ms=60_000)
    assert info.value.details == {"timeout_ms": 20}


@pytest.mark.parametrize(
    ("cap_timeout", "request_ms", "allowed"),
    [(30.0, None, 30.0), (30.0, 5000, 5.0), (0.5, 5000, 0.5)],
)
def test_timeout_for(cap_timeout: float, request_ms: int | None, allowed: float) -> None:
    assert timeout_for(checked(returning({}, timeout=cap_timeout), {"name": "x"}, request_ms)) == (
        allowed
    )


@pytest.mark.parametrize("blocking", [False, True])
async def test_exception_becomes_execution_failed(blocking: bool) -> None:
    @capability(intent="Fail", blocking=blocking)
    def fail(payload: Any, ctx: CallContext) -> None:
        raise KeyError("customer 42")

    with pytest.raises(ExecutionFailed) as info:
        await run(fail)
    error = info.value
    assert error.error_type is ErrorType.EXECUTION_FAILED
    assert error.message == "'fail' failed: KeyError: 'customer 42'"
    assert error.details == {"exception": "KeyError"}
    assert "Traceback" not in error.message
    assert isinstance(error.__cause__, KeyError)


async def test_timeout_error_raised_by_the_capability_is_a_failure() -> None:
    @capability(intent="Call a slow service")
    def call(payload: Any, ctx: CallContext) -> None:
        raise TimeoutError("upstream did not answer")

    with pytest.raises(ExecutionFailed) as info:
        await run(call)
    assert info.value.details == {"exception": "TimeoutError"}


async def test_packetflow_errors_pass_through_unchanged() -> None:
    class RateLimited(PacketFlowError):
        error_type = ErrorType.EXECUTION_FAILED

    raised = [RateLimited("slow down", {"retry_after_ms": 500}), InvalidPayload("no", {"a": 1})]
    for error in raised:

        @capability(intent="Refuse")
        async def refuse(payload: Any, ctx: CallContext, error: Exception = error) -> None:
            raise error

        with pytest.raises(PacketFlowError) as info:
            await run(refuse)
        assert info.value is error


@pytest.mark.parametrize(
    ("result", "message", "details"),
    [
        pytest.param(
            "Hi", "'fixed' returned str, expected a mapping or model", {"returned": "str"}, id="str"
        ),
        pytest.param(42, "'fixed' returned int", {"returned": "int"}, id="int"),
        pytest.param(None, "'fixed' returned NoneType", {"returned": "NoneType"}, id="none"),
        pytest.param(["Hi", 2], "'fixed' returned list", {"returned": "list"}, id="list"),
    ],
)
async def test_result_of_the_wrong_type(result: Any, message: str, details: dict[str, Any]) -> None:
    with pytest.raises(ContractViolation) as info:
        await run(returning(result))
    assert info.value.error_type is ErrorType.CONTRACT_VIOLATION
    assert info.value.message.startswith(message)
    assert info.value.details == details


@pytest.mark.parametrize(
    ("result", "errors"),
    [
        pytest.param({"text": "Hi"}, [("length", "missing")], id="missing-field"),
        pytest.param({"text": "Hi", "length": "long"}, [("length", "int_parsing")], id="type"),
        pytest.param(Partial(text="Hi"), [("length", "missing")], id="other-model"),
    ],
)
async def test_result_breaking_the_provides_contract(
    result: Any, errors: list[tuple[str, str]]
) -> None:
    with pytest.raises(ContractViolation) as info:
        await run(returning(result))
    assert info.value.message == "result of 'fixed' does not satisfy its provides contract"
    assert [(e["field"], e["type"]) for e in info.value.details["errors"]] == errors


@pytest.mark.parametrize(
    "result",
    [
        pytest.param({"text": "Hi", "length": 2}, id="dict"),
        pytest.param({"text": "Hi", "length": "2", "extra": 1}, id="coercible-dict"),
        pytest.param(Greeting(text="Hi", length=2), id="provides-model"),
        pytest.param(LookAlike(text="Hi", length=2), id="fitting-model"),
    ],
)
async def test_results_that_fit_the_contract(result: Any) -> None:
    assert await run(returning(result)) == {"text": "Hi", "length": 2}


async def test_result_that_is_not_json_is_a_contract_violation() -> None:
    @capability(intent="Return an object", provides=["value"])
    def odd(payload: Any, ctx: CallContext) -> dict[str, Any]:
        return {"value": object()}

    with pytest.raises(ContractViolation):
        await run(odd)


# --- async capabilities that wait, and those that never do -----------------------------------


async def test_async_capability_that_waits_many_times_gets_its_results_back() -> None:
    loop = asyncio.get_running_loop()

    @capability(intent="Wait on several things", requires=["name"], provides=Greeting)
    async def chatty(payload: Any, ctx: CallContext) -> Greeting:
        await asyncio.sleep(0)
        answer: asyncio.Future[str] = loop.create_future()
        loop.call_later(0.01, answer.set_result, "Hello")
        word = await answer
        await asyncio.sleep(0.001)
        return Greeting(text=f"{word} {payload.name}", length=len(payload.name))

    assert await run(chatty) == {"text": "Hello Ada", "length": 3}


async def test_async_capability_failing_after_it_waited_is_a_failure() -> None:
    @capability(intent="Fail later")
    async def later(payload: Any, ctx: CallContext) -> None:
        await asyncio.sleep(0.001)
        raise TimeoutError("upstream did not answer")

    with pytest.raises(ExecutionFailed) as info:
        await run(later)
    assert info.value.details == {"exception": "TimeoutError"}


async def test_async_capability_that_never_waits_still_fails_cleanly() -> None:
    @capability(intent="Fail at once")
    async def at_once(payload: Any, ctx: CallContext) -> None:
        raise ValueError("bad input")

    with pytest.raises(ExecutionFailed) as info:
        await run(at_once)
    assert info.value.details == {"exception": "ValueError"}


async def test_a_capability_over_its_deadline_is_cancelled_and_cleans_up() -> None:
    cleaned = asyncio.Event()

    @capability(intent="Hang after a first wait")
    async def hang(payload: Any, ctx: CallContext) -> None:
        await asyncio.sleep(0)
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.set()

    with pytest.raises(ExecutionTimeout):
        await run(hang, timeout_ms=20)
    assert cleaned.is_set()
