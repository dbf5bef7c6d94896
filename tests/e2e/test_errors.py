"""Every error path, against the real worker: the caller gets a structured error, and an audit."""

from __future__ import annotations

from typing import Any

import pytest

from packetflow.client import CallError, Client
from tests.e2e.support import Worker, collect, field_is, json_of


async def _error_of(client: Client, capability: str, payload: dict[str, Any], **kw: Any) -> Any:
    with pytest.raises(CallError) as info:
        await client.call(capability, payload, **kw)
    return info.value


async def test_unknown_capability(client: Client) -> None:
    err = await _error_of(client, "no_such_thing", {})
    assert (err.type, err.code) == ("unknown_capability", "E002")
    assert "user_profile_transform" in err.error.details["available"]


async def test_invalid_payload_names_the_fields(client: Client) -> None:
    err = await _error_of(client, "user_profile_transform", {"user_id": 42})
    assert (err.type, err.code) == ("validation_failed", "E001")
    fields = {e["field"] for e in err.error.details["errors"]}
    assert {"user_id", "profile"} <= fields


async def test_execution_exception(client: Client) -> None:
    err = await _error_of(client, "boom", {})
    assert (err.type, err.code) == ("execution_failed", "E003")
    assert "kaboom" in err.error.message
    assert "Traceback" not in err.error.message


async def test_timeout(client: Client) -> None:
    err = await _error_of(client, "slow", {"seconds": 5}, timeout=0.5)
    assert (err.type, err.code) == ("timeout", "E004")


async def test_contract_violation(client: Client) -> None:
    err = await _error_of(client, "liar", {})
    assert (err.type, err.code) == ("contract_violation", "E005")


async def test_errors_are_audited_and_published(client: Client, worker: Worker) -> None:
    trace = "trace-error-audit"
    await _error_of(client, "boom", {}, context={"user_id": "eve", "trace_id": trace})
    [audit] = await collect(worker.broker, worker.topics.audit, field_is("trace_id", trace), 1)
    record = json_of(audit)
    assert (record["outcome"], record["error_type"], record["user_id"]) == (
        "error",
        "execution_failed",
        "eve",
    )
    errors = await collect(
        worker.broker,
        worker.topics.errors,
        lambda m: (json_of(m) or {}).get("context", {}).get("trace_id") == trace,
        1,
    )
    assert json_of(errors[0])["payload"]["error"]["type"] == "execution_failed"
