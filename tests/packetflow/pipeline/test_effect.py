"""Declared effects run once after a successful execution; a failing one never fails the call."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from packetflow import AuditLog, CallContext, Capability, Custom, Metric, Registry, capability
from packetflow.effects import EffectInvocation, EffectRecord, EffectSpec
from packetflow.envelope import CapabilityRequest, Context
from packetflow.metrics import Metrics
from packetflow.pipeline.check import check
from packetflow.pipeline.effect import run_effects
from packetflow.testing import CapabilityTester

RESULT = {"greeting": "Hi Ada"}


def declare(*effects: EffectSpec | str) -> Capability:
    @capability(intent="Greet", requires=["name"], provides=["greeting"], effects=effects)
    def greet(payload: Any, ctx: CallContext) -> dict[str, Any]:
        return {"greeting": f"Hi {payload.name}"}

    return greet


async def run(
    cap: Capability, metrics: Metrics | None = None, duration_s: float = 0.25
) -> list[EffectRecord]:
    request = CapabilityRequest(
        id="req-1",
        capability_id=cap.id,
        payload={"name": "Ada"},
        context=Context(user_id="u1", trace_id="t1", tenant="acme"),
    )
    docs = await run_effects(
        check(request, Registry([cap])), RESULT, duration_s, metrics or Metrics()
    )
    # what the worker builds is what consumers read: a valid EffectRecord, field for field
    records = [EffectRecord.model_validate(doc) for doc in docs]
    assert [r.model_dump() for r in records] == docs
    return records


@pytest.mark.parametrize(
    ("level", "logged"),
    [
        ("debug", logging.DEBUG),
        ("info", logging.INFO),
        ("warning", logging.WARNING),
        ("error", logging.ERROR),
    ],
)
async def test_audit_log_writes_one_line(
    caplog: pytest.LogCaptureFixture, level: Any, logged: int
) -> None:
    caplog.set_level(logging.DEBUG, logger="packetflow.audit_log")
    [effect] = await run(declare(AuditLog(level=level)))
    [line] = [r for r in caplog.records if r.name == "packetflow.audit_log"]
    assert line.levelno == logged
    assert line.getMessage() == (
        "capability greet executed for user u1 (request req-1, trace t1) in 250.000 ms"
    )
    assert (effect.kind, effect.name, effect.status) == ("audit_log", "audit_log", "ok")
    assert effect.data == {"level": level, "duration_ms": 250.0}
    assert (effect.correlation_id, effect.user_id, effect.trace_id) == ("req-1", "u1", "t1")


async def test_counter_counts_each_execution() -> None:
    metrics = Metrics()
    cap = declare(Metric.counter("greetings"))
    for expected in (1.0, 2.0):
        [effect] = await run(cap, metrics)
        value = metrics.registry.get_sample_value(
            "packetflow_business_greetings_total", {"capability": "greet"}
        )
        assert value == expected
    assert effect.data == {"type": "counter", "value": 1}
    assert b"packetflow_business_greetings_total" in metrics.render()


async def test_histogram_observes_the_duration() -> None:
    metrics = Metrics()
    [effect] = await run(declare(Metric.histogram("greet_time")), metrics, duration_s=0.25)
    sample = metrics.registry.get_sample_value
    labels = {"capability": "greet"}
    assert sample("packetflow_business_greet_time_seconds_count", labels) == 1
    assert sample("packetflow_business_greet_time_seconds_sum", labels) == 0.25
    assert effect.data == {"type": "histogram", "value": 0.25}


async def test_effects_run_once_each_in_declared_order() -> None:
    calls: list[str] = []
    cap = declare(
        Custom("first", lambda inv: calls.append("first")),
        "audit_log",
        Custom("second", lambda inv: calls.append("second")),
    )
    effects = await run(cap)
    assert [e.name for e in effects] == ["first", "audit_log", "second"]
    assert calls == ["first", "second"]


async def test_sync_custom_handler_sees_the_call_and_returns_data() -> None:
    seen: list[EffectInvocation] = []

    def notify(invocation: EffectInvocation) -> dict[str, Any]:
        seen.append(invocation)
        return {"sent_to": invocation.context["user_id"], "text": invocation.result["greeting"]}

    [effect] = await run(declare(Custom("notify", notify, {"channel": "sms"})))
    [invocation] = seen
    assert (invocation.capability_id, invocation.request_id) == ("greet", "req-1")
    assert invocation.payload == {"name": "Ada"}
    assert invocation.result == RESULT
    assert invocation.context["tenant"] == "acme"
    assert invocation.options == {"channel": "sms"}
    assert (effect.kind, effect.status) == ("notify", "ok")
    assert effect.data == {"sent_to": "u1", "text": "Hi Ada"}


async def test_async_custom_handler() -> None:
    async def notify(invocation: EffectInvocation) -> dict[str, Any]:
        return {"async": True}

    async def silent(invocation: EffectInvocation) -> None:
        return None

    effects = await run(declare(Custom("notify", notify), Custom("silent", silent)))
    assert [(e.status, e.data) for e in effects] == [("ok", {"async": True}), ("ok", {})]


def raises(invocation: EffectInvocation) -> None:
    raise ConnectionError("smtp down")


async def async_raises(invocation: EffectInvocation) -> None:
    raise ConnectionError("smtp down")


@pytest.mark.parametrize(
    ("handler", "error"),
    [
        pytest.param(raises, "ConnectionError: smtp down", id="raises"),
        pytest.param(async_raises, "ConnectionError: smtp down", id="async-raises"),
        pytest.param(lambda inv: ["a"], "handler returned list, expected a mapping", id="list"),
        pytest.param(lambda inv: "done", "handler returned str, expected a mapping", id="str"),
        pytest.param(
            lambda inv: {"at": object()}, "handler returned data that is not JSON", id="object"
        ),
        pytest.param(
            lambda inv: {"raw": b"\xff"}, "handler returned data that is not JSON", id="bytes"
        ),
    ],
)
async def test_failing_handler_gives_a_failed_record_and_the_call_still_succeeds(
    handler: Any, error: str
) -> None:
    cap = declare(Custom("notify", handler), "audit_log")
    [failed, audit] = await run(cap)
    assert (failed.name, failed.status) == ("notify", "failed")
    assert failed.data["error"].startswith(error)
    assert audit.status == "ok"

    run_ = await CapabilityTester([cap]).execute("greet", {"name": "Ada"})
    assert run_.ok
    assert run_.response == RESULT
    assert [(e.name, e.status) for e in run_.effects] == [("notify", "failed"), ("audit_log", "ok")]


async def test_handler_with_non_string_keys_is_a_failed_effect() -> None:
    cap = declare(Custom("notify", lambda inv: {1: "x"}))  # type: ignore[dict-item]
    run_ = await CapabilityTester([cap]).execute("greet", {"name": "Ada"})
    assert run_.ok
    assert [(e.name, e.status) for e in run_.effects] == [("notify", "failed")]


async def test_no_effects_run_when_execution_fails() -> None:
    calls: list[EffectInvocation] = []

    @capability(intent="Fail", effects=[Custom("notify", calls.append), "audit_log"])
    def fail(payload: Any, ctx: CallContext) -> None:
        raise ValueError("no")

    run_ = await CapabilityTester([fail]).execute("fail")
    assert run_.error is not None
    assert run_.effects == []
    assert calls == []
