"""Reactors: keyed state in Faust tables, changed by pure intents, at most once per request.

One room: the declaration (:mod:`.declare`), the at-most-once state rule
(:mod:`.state`), the step of the request path (:mod:`.step`), the Faust agent
and its tables (:mod:`.agent`), the changelog writes (:mod:`.changelog`) and the
cache of recently read records (:mod:`.recent`). Importing the package loads
only the first two: declaring a reactor needs no Faust.
"""

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
