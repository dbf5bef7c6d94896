"""``system_health``: healthy only when checks are registered and all of them pass."""

from __future__ import annotations

import pytest

from packetflow import health
from packetflow.health import CheckResult, register_check, unregister_check
from packetflow.testing import execute_capability
from streams import system_health


@pytest.fixture
def no_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start from an empty check table (a worker built earlier may have registered some)."""
    monkeypatch.setattr(health, "_checks", {})


async def passing() -> CheckResult:
    return CheckResult(True, {"brokers": 3})


async def failing() -> CheckResult:
    return CheckResult(False, {"why": "no leader"})


async def crashing() -> CheckResult:
    raise OSError("connection refused")


@pytest.mark.usefixtures("no_checks")
async def test_degraded_when_no_check_is_registered() -> None:
    run = await execute_capability(system_health)
    report = run.response
    assert report["status"] == "degraded"
    assert report["checks"] == {}
    assert report["metadata"]["protocol_version"] == "1.0"
    assert report["metadata"]["timestamp"].endswith("Z")
    assert run.assert_metric_emitted("health_checks") == 1.0


@pytest.mark.usefixtures("no_checks")
async def test_healthy_when_every_check_passes() -> None:
    register_check("broker", passing)
    register_check("registry", passing)
    try:
        report = (await execute_capability(system_health)).response
    finally:
        unregister_check("broker")
        unregister_check("registry")
    assert report["status"] == "healthy"
    assert sorted(report["checks"]) == ["broker", "registry"]
    assert report["checks"]["broker"]["healthy"] is True
    assert report["checks"]["broker"]["brokers"] == 3
    assert report["checks"]["broker"]["elapsed_ms"] >= 0


@pytest.mark.usefixtures("no_checks")
@pytest.mark.parametrize(
    ("check", "detail"),
    [(failing, {"why": "no leader"}), (crashing, {"error": "OSError: connection refused"})],
)
async def test_degraded_when_one_check_fails(check: health.Check, detail: dict[str, str]) -> None:
    register_check("broker", passing)
    register_check("disk", check)
    try:
        report = (await execute_capability(system_health)).response
    finally:
        unregister_check("broker")
        unregister_check("disk")
    assert report["status"] == "degraded"
    assert report["checks"]["broker"]["healthy"] is True
    assert report["checks"]["disk"]["healthy"] is False
    assert detail.items() <= report["checks"]["disk"].items()


@pytest.mark.usefixtures("no_checks")
async def test_unregistered_check_is_no_longer_run() -> None:
    register_check("disk", failing)
    unregister_check("disk")
    unregister_check("never-registered")
    report = (await execute_capability(system_health)).response
    assert report["checks"] == {}
