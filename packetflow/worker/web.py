"""The worker's HTTP pages: Prometheus ``/metrics`` and ``/health``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST

from packetflow.metrics import Metrics
from packetflow.registry import Registry
from packetflow.settings import Settings

__all__ = ["add_pages"]


def add_pages(
    app: faust.App,
    settings: Settings,
    registry: Registry,
    metrics: Metrics,
    assignment: Callable[[], Iterable[Any]],
) -> None:
    """Register ``/metrics`` and ``/health`` (listing ``assignment()``) on the web server."""

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        body = metrics.render()
        return web.bytes(body, content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/health")
    async def health_page(web: Any, request: Any) -> Any:
        assigned = sorted(f"{tp.topic}:{tp.partition}" for tp in assignment())
        healthy = app.started and not app.should_stop
        body = {
            "status": "healthy" if healthy else "starting",
            "worker": settings.kafka.worker_id,
            "capabilities": len(registry),
            "assignment": assigned,
        }
        return web.json(body, status=200 if healthy else 503)
