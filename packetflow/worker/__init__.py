"""The worker side of PacketFlow: the Faust app, the request loop, tables, sink and web pages."""

from packetflow.worker.app import create_app

__all__ = ["create_app"]
