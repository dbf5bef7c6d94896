"""The seed's counter reactor: ``increment`` for basic users, ``reset`` for admins."""

from __future__ import annotations

from pydantic import BaseModel, Field

from packetflow import Emit, Reactor, Window
from packetflow.security import DEFAULT_LATTICE, PermissionFamily

counter_perm = PermissionFamily("counter", "admin", "basic", lattice=DEFAULT_LATTICE)


class Count(BaseModel):
    """A counter's state."""

    value: int = 0


class CounterKey(BaseModel):
    """Which counter."""

    counter_id: str = Field(min_length=1, max_length=200)


class Increment(CounterKey):
    """Add ``by`` (default 1) to a counter."""

    by: int = Field(default=1, ge=1, le=1_000_000)


counter = Reactor(
    "counter",
    state=Count,
    key="counter_id",
    windows=[Window("per_minute", 60, expires=3600)],
)


@counter.intent(
    intent="Increment a counter (needs counter.basic)",
    requires=Increment,
    permissions=[counter_perm.basic],
)
def increment(payload: Increment, state: Count) -> tuple[Count, list[Emit]]:
    """Add ``by`` and report the new value."""
    new = Count(value=state.value + payload.by)
    return new, [Emit("incremented", {"by": payload.by, "value": new.value})]


@counter.intent(
    intent="Reset a counter to zero (needs counter.admin)",
    requires=CounterKey,
    permissions=[counter_perm.admin],
)
def reset(payload: CounterKey, state: Count) -> tuple[Count, list[Emit]]:
    """Set the counter back to zero."""
    return Count(), [Emit("reset", {"previous": state.value})]


@counter.query(
    intent="Read a counter (needs counter.basic)",
    requires=CounterKey,
    permissions=[counter_perm.basic],
)
def get(payload: CounterKey, state: Count) -> Count:
    """The counter's current state."""
    return state
