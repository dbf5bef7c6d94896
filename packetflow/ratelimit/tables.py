"""Rate-limit counters in windowed Faust tables (RocksDB-backed when configured, with a changelog).

One table per window size. Counters are only touched by the agent of the
limiter topic, keyed by ``user|capability``, so each counter has exactly one
writer: the worker that owns its partition. The limit therefore holds across
all workers of the group, and survives restarts through the changelog.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import faust
from faust.streams import current_event

from packetflow.ratelimit.rule import RateLimit, window_bounds

__all__ = ["TableRateLimiter"]


class TableRateLimiter:
    """A :class:`~packetflow.ratelimit.rule.RateLimiter` on tumbling windowed tables."""

    def __init__(
        self, app: faust.App, prefix: str, windows: Iterable[float], partitions: int
    ) -> None:
        self._tables: dict[float, Any] = {}
        for size in sorted(set(windows)):
            name = f"{prefix}-ratelimit-{size:g}s".replace(".", "_")
            table = app.Table(name, default=int, partitions=partitions, help="rate limits")
            # windows follow the hop record's timestamp (Faust's relative_to_now would
            # follow the partition's latest window end, which never advances from 0)
            self._tables[size] = table.tumbling(
                timedelta(seconds=size), expires=timedelta(seconds=size * 2)
            ).relative_to_stream()

    def hit(self, key: str, limit: RateLimit, now: float) -> float | None:
        """Count one call in the current window; the retry-after in seconds when over."""
        event = current_event()
        at = event.message.timestamp if event is not None else now
        window = self._tables[limit.per_seconds][key]
        if window.current() >= limit.requests:
            return window_bounds(at, limit.per_seconds)[1] - at
        self._tables[limit.per_seconds][key] += 1
        return None
