"""Each shipped capability, called through the client against a real worker and broker."""

from __future__ import annotations

import asyncio
import urllib.request

from packetflow.client import Client
from tests.e2e.support import Worker, collect, field_is, json_of

PROFILE = {"email": "  Ann@Example.COM ", "phone": "+1 (555) 123-4567"}


async def test_profile_transform_answers_with_effects_and_audit(
    client: Client, worker: Worker
) -> None:
    trace = "trace-profile-1"
    result = await client.call(
        "user_profile_transform",
        {"user_id": "u-1", "profile": PROFILE, "validation_rules": ["email_required"]},
        context={"user_id": "admin-1", "session_id": "s-1", "trace_id": trace},
    )
    assert result["transformed_profile"]["email"] == "ann@example.com"
    assert result["transformed_profile"]["phone"] == "+15551234567"
    assert result["validation_results"] == {"valid": True, "errors": []}
    assert result["operation_log"]["operations"] == ["normalize_email", "validate_phone"]

    effects = await collect(worker.broker, worker.topics.effects, field_is("trace_id", trace), 2)
    assert sorted(json_of(e)["kind"] for e in effects) == ["audit_log", "metrics"]
    audit = await collect(worker.broker, worker.topics.audit, field_is("trace_id", trace), 1)
    [record] = [json_of(a) for a in audit]
    assert record["outcome"] == "ok"
    assert (record["user_id"], record["session_id"]) == ("admin-1", "s-1")
    assert record["capability_id"] == "user_profile_transform"


async def test_system_health_is_healthy(client: Client) -> None:
    report = await client.call("system_health")
    assert report["status"] == "healthy"
    assert report["checks"]["broker"]["healthy"] is True
    assert report["checks"]["registry"]["capabilities"] >= 3


async def test_notification_publishes_its_custom_effect(client: Client, worker: Worker) -> None:
    trace = "trace-notify-1"
    result = await client.call(
        "send_notification",
        {"recipient": "bob", "channel": "slack", "values": {"name": "Bob"}},
        context={"user_id": "ops", "trace_id": trace},
    )
    assert result == {"recipient": "bob", "channel": "slack", "message": "Welcome, Bob!"}
    effects = await collect(worker.broker, worker.topics.effects, field_is("trace_id", trace), 3)
    custom = [json_of(e) for e in effects if json_of(e)["kind"] == "notification"]
    assert custom[0]["data"]["message"] == "Welcome, Bob!"
    assert custom[0]["status"] == "ok"


async def test_heartbeat_names_the_worker(client: Client) -> None:
    beat = await client.ping()
    assert beat["status"] == "alive"
    assert beat["capabilities"] >= 3


async def test_metrics_page_counts_executions(client: Client, worker: Worker) -> None:
    await client.call("system_health")
    url = f"http://127.0.0.1:{worker.web_port}/metrics"
    body = await asyncio.to_thread(_get, url)
    assert 'packetflow_capability_execution_count_total{capability="system_health"}' in body
    assert "packetflow_registry_capabilities_registered" in body
    assert 'packetflow_business_health_checks_total{capability="system_health"}' in body


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return str(resp.read().decode())
