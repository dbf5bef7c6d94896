"""Faust's services, patched as they are built: the consumer's patches, a service after the
producer.

Faust builds its app's services (producer, consumer, tables, agents, web) when
the app starts, in ``on_init_dependencies``, and starts them in that order.
Its consumer exists from then on, with the worker's event loop, so that is
when the consumer's patches are applied. A service placed right after the
producer starts before anything consumes (PacketFlow declares its topics
there: :class:`packetflow.worker.declare.DeclareTopics`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["patch_services"]


def patch_services(
    app: Any, patch_consumer: Callable[[], None], after_producer: Callable[[], Any] | None
) -> None:
    """When ``app`` builds its services: call ``patch_consumer`` (unless the app only
    produces, or is a client), and start ``after_producer()`` right after the producer."""
    build = app.on_init_dependencies
    if getattr(build, "packetflow_services", False):
        return  # installed already

    def services() -> list[Any]:
        found = list(build())
        if not (app.producer_only or app.client_only):
            patch_consumer()
        if after_producer is None:
            return found
        first = after_producer()
        after = next((i + 1 for i, s in enumerate(found) if s is app.producer), 0)
        return [*found[:after], first, *found[after:]]

    services.packetflow_services = True  # type: ignore[attr-defined]
    app.on_init_dependencies = services
