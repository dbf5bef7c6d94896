"""Reactor state records and the one rule that changes them.

A key's record holds its state, a version (applied intents so far), the
recent applied request ids with their results, effects and the version each
made, and per source stream the last offset applied from it. Both are written
in the same record as the state, so "applied" and "remembered as applied" are
one atomic write. A redelivered request is never applied twice, however many
requests the key took since: its stream's offset says it was applied, and if
its id is still in the log it is answered with its original result, effects
and version. A replay writes the key's record again, unchanged: a worker
killed after its local write but before the changelog had it would otherwise
keep a state the changelog lacks until the key's next write, and another
worker recovering the partition would not see it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError
from pydantic_core import from_json, to_json

from packetflow.errors import ContractViolation, ExecutionFailed, validation_details
from packetflow.reactor.declare import Emit, ReactorHandler

__all__ = ["Applied", "MemoryStateStore", "StateStore", "apply", "read"]


class StateStore(Protocol):
    """Where records live: a Faust table in a worker, a dict in tests."""

    def get(self, key: str) -> dict[str, Any] | None:
        """The key's record, or None for a key never written."""

    def set(self, key: str, record: dict[str, Any]) -> None:
        """Replace the key's record (the store may keep ``record`` itself: it is not changed
        afterwards, nor is one :meth:`get` returns)."""


class MemoryStateStore:
    """A :class:`StateStore` in a dict."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        """See :class:`StateStore`."""
        return self.records.get(key)

    def set(self, key: str, record: dict[str, Any]) -> None:
        """See :class:`StateStore`."""
        self.records[key] = record


@dataclass(frozen=True, slots=True)
class Applied:
    """The outcome of one intent: its result, effects, and whether it was a replay."""

    result: dict[str, Any]
    effects: list[dict[str, Any]]
    version: int
    replayed: bool


def read(handler: ReactorHandler, record: Mapping[str, Any] | None) -> BaseModel:
    """The state model of a record (a new key's default state when there is none)."""
    state_model = handler.reactor.state
    return state_model.model_validate(record["state"]) if record else state_model()


def apply(
    handler: ReactorHandler,
    payload: BaseModel,
    store: StateStore,
    request_id: str,
    dedup_window: int,
    source: tuple[str, int] | None = None,
) -> Applied:
    """Apply an intent to its key's state at most once; run a query without writing.

    ``source`` is the ordered stream and offset the request comes from: an offset at
    or below the stream's last applied one is a redelivery. Without one (a hop that
    names no origin) only the id log of the last ``dedup_window`` ids recognizes it.
    """
    key = handler.key_of(payload)
    record = store.get(key)
    version = int(record["version"]) if record else 0
    if handler.kind == "query":
        result = _call(handler, payload, read(handler, record))
        return Applied(_as_dict(handler, result), [], version, replayed=False)
    for entry in (record or {}).get("applied", ()):
        if entry[0] == request_id:  # [id, result, effects, version it made]
            made = entry[3] if len(entry) > 3 else version  # entries kept before versions were
            assert record is not None
            store.set(key, record)  # again: the changelog may have missed it (see module doc)
            return Applied(entry[1], entry[2], made, replayed=True)
    sources: dict[str, int] | None = record.get("sources") if record else None
    if source is not None and sources is not None and sources.get(source[0], -1) >= source[1]:
        assert record is not None  # applied, but out of the id log: answered with the state now
        store.set(key, record)
        return Applied(record["state"], [], version, replayed=True)
    outcome = _call(handler, payload, read(handler, record))
    new_state, effects = _transition(handler, outcome)
    result = new_state.model_dump(mode="json")
    applied = [*(record or {}).get("applied", ()), [request_id, result, effects, version + 1]]
    written: dict[str, Any] = {
        "state": result,
        "version": version + 1,
        "applied": applied[-dedup_window:],
    }
    if source is not None:
        written["sources"] = {**(sources or {}), source[0]: source[1]}
    elif sources is not None:
        written["sources"] = sources
    store.set(key, written)
    return Applied(result, effects, version + 1, replayed=False)


def _call(handler: ReactorHandler, payload: BaseModel, state: BaseModel) -> Any:
    try:
        return handler.fn(payload, state)
    except Exception as exc:
        raise ExecutionFailed(
            f"{handler.reactor.name}: {type(exc).__name__}: {exc}"[:1000],
            {"exception": type(exc).__name__},
        ) from exc


def _transition(handler: ReactorHandler, outcome: Any) -> tuple[BaseModel, list[dict[str, Any]]]:
    name = handler.reactor.name
    if not (isinstance(outcome, tuple) and len(outcome) == 2):
        raise ContractViolation(f"{name}: an intent must return (new_state, [Emit, ...])")
    state, emitted = outcome
    try:
        state = handler.reactor.state.model_validate(
            state.model_dump() if isinstance(state, BaseModel) else state
        )
    except ValidationError as exc:
        raise ContractViolation(f"{name}: new state is invalid", validation_details(exc)) from None
    if not isinstance(emitted, list | tuple) or not all(isinstance(e, Emit) for e in emitted):
        raise ContractViolation(f"{name}: effects must be a list of Emit")
    return state, _as_json([{"kind": e.kind, "data": e.data} for e in emitted], name)


def _as_json(effects: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """``effects`` if they are JSON as they are (the stored record and every replay hold
    exactly what the intent returned), else :class:`ContractViolation`."""
    if not effects:
        return effects
    try:
        same = from_json(to_json(effects)) == effects
    except ValueError:  # PydanticSerializationError: not serializable at all
        same = False
    if not same:
        raise ContractViolation(
            f"{name}: effects must be JSON: str keys; dict, list, str, int, finite float, "
            "bool and None values",
            {"reason": "not JSON"},
        )
    return effects


def _as_dict(handler: ReactorHandler, result: Any) -> dict[str, Any]:
    if isinstance(result, BaseModel):
        dumped: dict[str, Any] = result.model_dump(mode="json")
        return dumped
    if isinstance(result, dict):
        return result
    raise ContractViolation(f"{handler.reactor.name}: a query must return a model or a mapping")
