"""The in-process test helpers: they pass when they should and fail when they should."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from packetflow import AuditLog, CallContext, Custom, Metric, capability
from packetflow.avro import AvroCodec
from packetflow.effects import EffectInvocation
from packetflow.envelope import CapabilityRequest
from packetflow.testing import CapabilityTester, execute_capability


@capability(
    intent="Greet",
    requires=["name"],
    provides=["greeting"],
    effects=[AuditLog(), Metric.counter("greetings"), Metric.histogram("greet_time")],
)
def greet(payload: Any, ctx: CallContext) -> dict[str, Any]:
    return {"greeting": f"Hi {payload.name}"}


def broken_handler(invocation: EffectInvocation) -> None:
    raise ConnectionError("smtp down")


@capability(intent="Notify", effects=[Custom("notify", broken_handler)])
def notify(payload: Any, ctx: CallContext) -> dict[str, Any]:
    return {}


@capability(intent="Fail")
def fail(payload: Any, ctx: CallContext) -> None:
    raise ValueError("nope")


@capability(intent="Hang")
async def hang(payload: Any, ctx: CallContext) -> None:
    await asyncio.Event().wait()


async def test_execute_capability_runs_it_as_a_test_user() -> None:
    run = await execute_capability(greet, {"name": "Ada"})
    assert run.ok
    assert run.error is None
    assert run.response == {"greeting": "Hi Ada"}
    audit = run.assert_effect_executed("audit_log")
    assert audit.user_id == "test-user"
    assert audit.trace_id
    [record] = run.audit
    assert (record.outcome, record.user_id) == ("ok", "test-user")


async def test_assert_effect_executed_fails_when_absent() -> None:
    run = await execute_capability(greet, {"name": "Ada"})
    with pytest.raises(AssertionError, match="effect 'notification' was not executed") as info:
        run.assert_effect_executed("notification")
    assert "('audit_log', 'audit_log')" in str(info.value)
    with pytest.raises(AssertionError, match="effect 'metrics' was not executed"):
        run.assert_effect_executed("metrics", name="nonexistent")
    assert run.assert_effect_executed("metrics", name="greet_time").name == "greet_time"


async def test_assert_effect_executed_fails_when_the_effect_failed() -> None:
    run = await execute_capability(notify)
    assert run.ok
    with pytest.raises(AssertionError, match=r"effect notify failed: .*ConnectionError"):
        run.assert_effect_executed("notify")


async def test_assert_metric_emitted_returns_the_current_value() -> None:
    tester = CapabilityTester([greet])
    first = await tester.execute("greet", {"name": "Ada"})
    assert first.assert_metric_emitted("greetings") == 1.0
    second = await tester.execute("greet", {"name": "Bob"})
    assert second.assert_metric_emitted("greetings") == 2.0
    assert second.assert_metric_emitted("greet_time") == 2.0


async def test_assert_metric_emitted_fails_when_absent() -> None:
    run = await execute_capability(greet, {"name": "Ada"})
    with pytest.raises(AssertionError, match="effect 'metrics' was not executed"):
        run.assert_metric_emitted("logins")
    failed = await execute_capability(fail)
    with pytest.raises(AssertionError):
        failed.assert_metric_emitted("greetings")


async def test_error_answers_are_exposed() -> None:
    run = await execute_capability(fail)
    assert not run.ok
    assert run.error is not None
    assert (run.error.type, run.error.details) == ("execution_failed", {"exception": "ValueError"})
    with pytest.raises(AssertionError, match="no response; error was"):
        _ = run.response
    assert run.effects == []
    assert [a.outcome for a in run.audit] == ["error"]


async def test_tester_passes_the_timeout() -> None:
    run = await CapabilityTester([hang]).execute("hang", timeout_ms=10)
    assert run.error is not None
    assert (run.error.type, run.error.details) == ("timeout", {"timeout_ms": 10})


async def test_send_raw_exposes_dead_letters() -> None:
    run = await CapabilityTester([greet]).send_raw(b"not json", key=b"k-1")
    [dead] = run.dead_letters
    assert (dead.key, dead.value) == (b"k-1", b"not json")
    assert run.error is not None
    assert run.error.type == "protocol_error"
    assert not run.ok


async def test_send_raw_of_an_avro_request_can_be_inspected() -> None:
    request = CapabilityRequest(capability_id="greet", payload={"name": "Ada"})
    value = AvroCodec().encode("request", request.model_dump(mode="json"))
    run = await CapabilityTester([greet]).send_raw(value)
    assert run.ok
    assert run.response == {"greeting": "Hi Ada"}
