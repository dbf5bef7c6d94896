"""The rate-limit rule: at most N calls per (user, capability) in each tumbling window.

:func:`enforce` is the request path's step. In a worker the counts live in
windowed Faust tables (:mod:`.tables`), reached through a hop that keys requests
by ``user|capability`` so one partition, hence one worker, owns each counter.
:class:`MemoryRateLimiter` is the same rule in memory, for tests.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Protocol

from packetflow.errors import RateLimited

__all__ = [
    "MemoryRateLimiter",
    "RateLimit",
    "RateLimiter",
    "enforce",
    "rate_key",
    "window_bounds",
]

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``requests`` per ``per_seconds`` tumbling window."""

    requests: int
    per_seconds: float

    def __post_init__(self) -> None:
        if self.requests < 1 or self.per_seconds <= 0:
            raise ValueError(f"rate limit must be positive, got {self.requests}/{self.per_seconds}")

    @classmethod
    def parse(cls, spec: str) -> RateLimit:
        """``"100/60"``, ``"5/1s"``, ``"1000/1h"``."""
        match = _SPEC.match(spec)
        if match is None:
            raise ValueError(f"rate limit {spec!r} is not REQUESTS/SECONDS[s|m|h]")
        return cls(int(match.group(1)), float(match.group(2)) * _UNITS[match.group(3)])

    def __str__(self) -> str:
        return f"{self.requests}/{self.per_seconds:g}s"


class RateLimiter(Protocol):
    """Counts a hit; returns seconds until the window reopens when over the limit."""

    def hit(self, key: str, limit: RateLimit, now: float) -> float | None:
        """None if allowed (and counted), else the retry-after in seconds."""


def rate_key(user_id: str | None, capability_id: str) -> str:
    """The counter key, also the Kafka key of the hop that routes to its owner."""
    return f"{user_id or '-'}|{capability_id}"


def window_bounds(now: float, size: float) -> tuple[float, float]:
    """Start and end of the tumbling window of ``size`` seconds holding ``now``."""
    start = math.floor(now / size) * size
    return start, start + size


class MemoryRateLimiter:
    """Tumbling-window counters in a dict; old windows are dropped as time moves on."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, float, float], int] = {}

    def hit(self, key: str, limit: RateLimit, now: float) -> float | None:
        """See :class:`RateLimiter`."""
        start, end = window_bounds(now, limit.per_seconds)
        slot = (key, limit.per_seconds, start)
        count = self._counts.get(slot, 0)
        if count >= limit.requests:
            return end - now
        self._counts[slot] = count + 1
        if len(self._counts) > 10_000:
            self._counts = {k: v for k, v in self._counts.items() if k[2] + k[1] > now}
        return None


def enforce(limiter: RateLimiter, limit: RateLimit, user_id: str | None, capability: str) -> None:
    """Count the call; raise ``RateLimited`` with ``retry_after_ms`` when over the limit."""
    retry_after = limiter.hit(rate_key(user_id, capability), limit, time.time())
    if retry_after is not None:
        retry_ms = max(1, round(retry_after * 1000))
        raise RateLimited(
            f"rate limit {limit} of {capability!r} exceeded",
            {"limit": str(limit), "retry_after_ms": retry_ms},
        )
