"""Declaring reactors: keyed state, a pure ``process(intent, state) -> (state, effects)``,
read-only queries, and windowed aggregates (seed 001's intents and reactors)::

    counter = Reactor("counter", state=Counter, key="counter_id")

    @counter.intent(intent="Add to a counter", requires=Increment)
    def increment(payload: Increment, state: Counter) -> tuple[Counter, list[Emit]]:
        new = Counter(value=state.value + payload.by)
        return new, [Emit("incremented", {"value": new.value})]

Each intent and query is a capability (``counter.increment``) with every
check a capability has; requests are routed by ``payload.<key>`` so each key
has exactly one writer.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from packetflow.capability import Capability, Contract, build_capability
from packetflow.errors import CapabilityDefinitionError

__all__ = ["Emit", "Reactor", "ReactorHandler", "Window"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True, slots=True)
class Emit:
    """An effect a reactor returns: published after its state change is durable."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Window:
    """A windowed count of applied intents per key: ``Window("per_minute", 60)``.

    ``hop`` makes it a hopping window; windows older than ``expires`` seconds
    are dropped.
    """

    name: str
    size: float
    hop: float | None = None
    expires: float = 3600.0

    def __post_init__(self) -> None:
        if not _NAME.match(self.name) or self.size <= 0 or self.expires < self.size:
            raise ValueError(f"window {self.name!r}: needs a name, size > 0, expires >= size")
        if self.hop is not None and not 0 < self.hop <= self.size:
            raise ValueError(f"window {self.name!r}: hop must be in (0, size]")


@dataclass(frozen=True, slots=True)
class ReactorHandler:
    """How a capability is bound to its reactor: an intent (writes) or a query (reads)."""

    reactor: Reactor
    kind: Literal["intent", "query"]
    fn: Callable[[Any, Any], Any]

    def key_of(self, payload: BaseModel) -> str:
        """The state key this payload addresses."""
        value = getattr(payload, self.reactor.key)
        return str(value)


class Reactor:
    """Keyed state and the intents that change it."""

    def __init__(
        self,
        name: str,
        *,
        state: type[BaseModel],
        key: str,
        windows: Sequence[Window] = (),
    ) -> None:
        if not _NAME.match(name):
            raise CapabilityDefinitionError(name, "reactor name must match [a-z][a-z0-9_]*")
        if not (isinstance(state, type) and issubclass(state, BaseModel)):
            raise CapabilityDefinitionError(name, "reactor state must be a pydantic model")
        try:
            state()
        except Exception:
            raise CapabilityDefinitionError(
                name, "reactor state needs defaults for every field (the state of a new key)"
            ) from None
        self.name = name
        self.state = state
        self.key = key
        self.windows = tuple(windows)
        self.capabilities: list[Capability] = []

    def intent(
        self, *, intent: str, requires: Contract, **options: Any
    ) -> Callable[..., Capability]:
        """Declare ``fn(payload, state) -> (new_state, [Emit, ...])``; answers the new state."""
        return self._declare("intent", intent, requires, self.state, options)

    def query(
        self, *, intent: str, requires: Contract, provides: Contract | None = None, **options: Any
    ) -> Callable[..., Capability]:
        """Declare a read-only ``fn(payload, state) -> result`` (default: the state itself)."""
        return self._declare("query", intent, requires, provides or self.state, options)

    def _declare(
        self,
        kind: Literal["intent", "query"],
        intent: str,
        requires: Contract,
        provides: Contract,
        options: dict[str, Any],
    ) -> Callable[..., Capability]:
        def decorate(fn: Callable[[Any, Any], Any]) -> Capability:
            cap_id = f"{self.name}.{getattr(fn, '__name__', '')}"
            if inspect.iscoroutinefunction(fn):
                raise CapabilityDefinitionError(
                    cap_id, "reactor handlers must be pure sync functions"
                )
            handler = ReactorHandler(self, kind, fn)
            cap = build_capability(
                cap_id,
                _not_direct,
                intent=intent,
                requires=requires,
                provides=provides,
                effects=options.pop("effects", ()),
                version=options.pop("version", "1.0.0"),
                timeout=options.pop("timeout", 30.0),
                blocking=False,
                reactor=handler,
                **options,
            )
            if self.key not in cap.requires.model_fields:
                raise CapabilityDefinitionError(
                    cap_id, f"requires has no field {self.key!r}, the reactor's key"
                )
            self.capabilities.append(cap)
            return cap

        return decorate


def _not_direct(payload: Any, ctx: Any) -> Any:
    raise RuntimeError("reactor capabilities run in their reactor's stage, not directly")
