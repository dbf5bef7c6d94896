"""Security against the real broker: credentials required, denials audited, and a rate
limit that holds across two workers of one group."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from packetflow.client import CallError, Client
from packetflow.topics import TopicNames
from tests.e2e.support import Worker, collect, json_of, running_group

SECRET = "e2e-secret-0123456789abcdef0123456789"
LIMIT = 20


def bearer(sub: str, **claims: Any) -> str:
    body = {"sub": sub, "exp": int(time.time()) + 600, **claims}
    return "Bearer " + str(jwt.encode(body, SECRET, algorithm="HS256"))


@pytest.fixture(scope="module")
async def secure_workers(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[list[Worker]]:
    """Two workers in one group that require a JWT and limit send_notification."""
    prefix = f"sec-{uuid.uuid4().hex[:8]}"
    env = {
        "PACKETFLOW_TOPIC_PREFIX": prefix,
        "PACKETFLOW_APP_ID": prefix,
        "PACKETFLOW_AUTH": "required",
        "PACKETFLOW_JWT_ALGORITHMS": "HS256",
        "PACKETFLOW_JWT_SECRET": SECRET,
        "PACKETFLOW_RATE_LIMITS": f"send_notification={LIMIT}/300s",
    }
    workdirs = [Path(tmp_path_factory.mktemp(f"sec{n}")) for n in range(2)]
    async with running_group(kafka_bootstrap, workdirs, **env) as workers:
        yield workers


def client_for(workers: list[Worker], authorization: str | None) -> Client:
    w = workers[0]
    return Client(w.broker, topics=w.topics, authorization=authorization)


async def _error(client: Client, cap: str, payload: dict[str, Any]) -> CallError:
    with pytest.raises(CallError) as info:
        await client.call(cap, payload, timeout=20)
    return info.value


async def test_missing_and_forged_credentials_are_refused_and_audited(
    secure_workers: list[Worker],
) -> None:
    async with client_for(secure_workers, None) as anonymous:
        err = await _error(anonymous, "system_health", {})
        assert (err.type, err.code) == ("unauthenticated", "E009")
    forged = "Bearer " + str(jwt.encode({"sub": "x", "exp": 9e9}, "wrong-" + SECRET, "HS256"))
    async with client_for(secure_workers, forged) as client:
        err = await _error(client, "system_health", {})
        assert err.type == "unauthenticated"
        request_id = err.record.correlation_id
    topics: TopicNames = secure_workers[0].topics
    [audit] = await collect(
        secure_workers[0].broker,
        topics.audit,
        lambda m: (json_of(m) or {}).get("correlation_id") == request_id,
        1,
    )
    assert json_of(audit)["error_type"] == "unauthenticated"


async def test_roles_are_enforced_end_to_end(secure_workers: list[Worker]) -> None:
    async with client_for(secure_workers, bearer("ann", roles=["user"])) as user:
        err = await _error(user, "admin_user_delete", {"user_id": "bob"})
        assert err.type == "forbidden"
        listed = await user.call("packetflow.discover")
        assert "admin_user_delete" not in {c["id"] for c in listed["capabilities"]}
    async with client_for(secure_workers, bearer("root", roles=["admin"])) as admin:
        assert await admin.call("admin_user_delete", {"user_id": "bob"}) == {
            "deleted": "bob",
            "by": "root",
        }
        listed = await admin.call("packetflow.discover")
        assert "admin_user_delete" in {c["id"] for c in listed["capabilities"]}


async def test_rate_limit_holds_across_two_workers(secure_workers: list[Worker]) -> None:
    flood = 2 * LIMIT + 10
    async with client_for(secure_workers, bearer("flooder")) as client:

        async def one(i: int) -> tuple[str, int]:
            try:
                await client.call("send_notification", {"recipient": f"r{i}"}, timeout=30)
            except CallError as exc:
                return exc.type, int(exc.error.details.get("retry_after_ms", 0))
            return "ok", 0

        outcomes = await asyncio.gather(*(one(i) for i in range(flood)))
    kinds = [kind for kind, _ in outcomes]
    assert kinds.count("ok") == LIMIT
    assert kinds.count("rate_limited") == flood - LIMIT
    assert all(retry > 0 for kind, retry in outcomes if kind == "rate_limited")
    assert all(w.proc.poll() is None for w in secure_workers)
