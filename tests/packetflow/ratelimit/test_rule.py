"""Rate limits per (user, capability): the limit holds, ``retry_after`` says when."""

from __future__ import annotations

from typing import Any

import pytest

from packetflow import CallContext, capability
from packetflow.errors import CapabilityDefinitionError
from packetflow.ratelimit.rule import MemoryRateLimiter
from packetflow.security import RateLimit
from packetflow.testing import CapabilityTester


@capability(intent="Limited", provides=["n"], rate_limit="3/60s")
def limited(payload: Any, ctx: CallContext) -> dict[str, Any]:
    return {"n": 1}


async def test_limit_holds_per_user_and_says_when_to_retry() -> None:
    tester = CapabilityTester([limited])
    outcomes = [(await tester.execute("limited", {}, {"user_id": "u1"})).error for _ in range(5)]
    assert [e is None for e in outcomes] == [True, True, True, False, False]
    err = outcomes[3]
    assert err is not None
    assert err.type == "rate_limited"
    assert 0 < err.details["retry_after_ms"] <= 60_000
    other = await tester.execute("limited", {}, {"user_id": "u2"})
    assert other.ok  # another user has their own window


async def test_configuration_overrides_the_declared_limit() -> None:
    tester = CapabilityTester([limited], rate_limits={"limited": RateLimit(1, 60)})
    assert (await tester.execute("limited", {}, {"user_id": "u"})).ok
    run = await tester.execute("limited", {}, {"user_id": "u"})
    assert run.error is not None
    assert run.error.type == "rate_limited"
    assert run.audit[0].error_type == "rate_limited"


def test_windows_reopen() -> None:
    limiter = MemoryRateLimiter()
    limit = RateLimit(2, 10)
    assert limiter.hit("k", limit, 100.0) is None
    assert limiter.hit("k", limit, 101.0) is None
    assert limiter.hit("k", limit, 105.0) == pytest.approx(5.0)
    assert limiter.hit("k", limit, 110.0) is None


@pytest.mark.parametrize("spec", ["0/1", "5", "x/1", "5/0"])
def test_bad_limits_fail_at_declaration(spec: str) -> None:
    with pytest.raises(CapabilityDefinitionError, match="rate"):
        capability(id="bad", intent="x", rate_limit=spec)(lambda p, c: {})


def test_parse_units() -> None:
    assert RateLimit.parse("100/1m") == RateLimit(100, 60.0)
    assert RateLimit.parse("5/2s") == RateLimit(5, 2.0)
    assert RateLimit.parse("1000/1h") == RateLimit(1000, 3600.0)
