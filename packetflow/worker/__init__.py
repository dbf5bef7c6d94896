"""The Faust side of PacketFlow: the app, its request agent, sink and web pages."""

from packetflow.worker.app import create_app

__all__ = ["create_app"]
