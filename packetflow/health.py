"""Process-wide health checks, registered by the worker and read by ``system_health``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CheckResult", "register_check", "run_checks", "unregister_check"]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's verdict and what it saw."""

    healthy: bool
    details: dict[str, Any] = field(default_factory=dict)


Check = Callable[[], Awaitable[CheckResult]]
_checks: dict[str, Check] = {}


def register_check(name: str, check: Check) -> None:
    """Add or replace the check called ``name``."""
    _checks[name] = check


def unregister_check(name: str) -> None:
    """Remove the check called ``name`` if present."""
    _checks.pop(name, None)


async def run_checks(timeout: float = 5.0) -> dict[str, CheckResult]:
    """Run every check; one that raises or exceeds ``timeout`` is unhealthy."""
    names = sorted(_checks)
    results = await asyncio.gather(*(_run(_checks[n], timeout) for n in names))
    return dict(zip(names, results, strict=True))


async def _run(check: Check, timeout: float) -> CheckResult:
    started = time.perf_counter()
    try:
        result = await asyncio.wait_for(check(), timeout)
    except TimeoutError:
        return CheckResult(False, {"error": f"no answer within {timeout:.1f} s"})
    except Exception as exc:
        return CheckResult(False, {"error": f"{type(exc).__name__}: {exc}"})
    elapsed = round((time.perf_counter() - started) * 1000, 3)
    return CheckResult(result.healthy, {**result.details, "elapsed_ms": elapsed})
