"""Reactors: keyed state in Faust tables, changed by pure intents, at most once per request."""

from packetflow.reactor.declare import Emit, Reactor, ReactorHandler, Window
from packetflow.reactor.state import Applied, MemoryStateStore, StateStore, apply

__all__ = [
    "Applied",
    "Emit",
    "MemoryStateStore",
    "Reactor",
    "ReactorHandler",
    "StateStore",
    "Window",
    "apply",
]
