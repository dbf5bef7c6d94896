"""The reactor step: apply an intent (or run a query) on its key's state, at most once."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from packetflow.effects import EffectDoc
from packetflow.hops.record import Source
from packetflow.pipeline.check import Checked
from packetflow.pipeline.effect import effect_doc
from packetflow.pipeline.execute import conform
from packetflow.reactor.declare import ReactorHandler, Window
from packetflow.reactor.state import MemoryStateStore, StateStore, apply

__all__ = [
    "MemoryWindows",
    "Reacted",
    "ReactorRuntime",
    "WindowCounter",
    "react",
    "window_counts",
]


class WindowCounter(Protocol):
    """Windowed counts of applied intents per key."""

    def add(self, reactor: str, window: Window, key: str) -> None:
        """Count one applied intent for ``key`` in the current window."""

    def current(self, reactor: str, window: Window, key: str) -> int:
        """The count of the current window."""


class MemoryWindows:
    """A :class:`WindowCounter` in a dict (tests); workers use windowed Faust tables."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, str, int], int] = {}

    def add(self, reactor: str, window: Window, key: str) -> None:
        """See :class:`WindowCounter`."""
        slot = (reactor, window.name, key, self._slot(window))
        self.counts[slot] = self.counts.get(slot, 0) + 1

    def current(self, reactor: str, window: Window, key: str) -> int:
        """See :class:`WindowCounter`."""
        return self.counts.get((reactor, window.name, key, self._slot(window)), 0)

    @staticmethod
    def _slot(window: Window) -> int:
        return int(time.time() // window.size)


@dataclass
class ReactorRuntime:
    """Where reactors keep state and window counts; how many request ids a key remembers."""

    stores: dict[str, StateStore] = field(default_factory=dict)
    windows: WindowCounter = field(default_factory=MemoryWindows)
    dedup_window: int = 128

    def store(self, reactor: str) -> StateStore:
        """The reactor's store (an in-memory one is created on first use)."""
        if reactor not in self.stores:
            self.stores[reactor] = MemoryStateStore()
        return self.stores[reactor]


@dataclass(slots=True)  # never changed once made; not frozen for speed, as Checked
class Reacted:
    """The answer of a reactor step and its effect records (keyed by state key)."""

    result: dict[str, Any]
    effects: list[tuple[str, EffectDoc]]
    replayed: bool
    version: int


def react(checked: Checked, runtime: ReactorRuntime, source: Source | None = None) -> Reacted:
    """Apply the checked request to its reactor (at most once from ``source``, see
    :func:`~packetflow.reactor.state.apply`); effects carry the state version."""
    handler: ReactorHandler = checked.capability.reactor
    reactor = handler.reactor
    key = handler.key_of(checked.payload)
    request = checked.request
    store = runtime.store(reactor.name)
    applied = apply(handler, checked.payload, store, request.id, runtime.dedup_window, source)
    if handler.kind == "intent" and not applied.replayed:
        for window in reactor.windows:
            runtime.windows.add(reactor.name, window, key)
    result = conform(checked.capability, applied.result)
    state_key = f"{reactor.name}:{key}"
    effects = [
        (state_key, _effect_record(checked, e, i, key, applied.version))
        for i, e in enumerate(applied.effects)
    ]
    return Reacted(result, effects, applied.replayed, applied.version)


def window_counts(handler: ReactorHandler, key: str, runtime: ReactorRuntime) -> dict[str, int]:
    """The current window counts of ``key``."""
    reactor = handler.reactor
    return {w.name: runtime.windows.current(reactor.name, w, key) for w in reactor.windows}


def _effect_record(
    checked: Checked, effect: Mapping[str, Any], index: int, key: str, version: int
) -> EffectDoc:
    return effect_doc(
        checked,
        f"{checked.request.id}:{index}",  # stable across replays, so consumers can deduplicate
        "reactor",
        str(effect["kind"]),
        {**effect["data"], "key": key, "version": version},
    )
