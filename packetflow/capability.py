"""Declaring capabilities: the ``@capability`` decorator and its contract.

A declaration is checked when it is made, so a malformed capability fails at
import with a message naming the capability and the fault::

    @capability(
        intent="Report system health",
        requires=HealthQuery,
        provides=HealthReport,
        effects=[AuditLog(level="info"), Metric.counter("health_checks")],
    )
    async def system_health(payload: HealthQuery, ctx: CallContext) -> HealthReport: ...
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model

from packetflow.context import CallContext, Invoker, Strategy
from packetflow.effects import AuditLog, Custom, EffectSpec, Metric
from packetflow.errors import CapabilityDefinitionError
from packetflow.ratelimit.rule import RateLimit
from packetflow.security.permissions import PermissionsSpec
from packetflow.security.rules import access_rules

__all__ = ["CallContext", "Capability", "ExecuteFn", "Invoker", "Strategy", "capability"]

_ID = re.compile(r"^[a-z][a-z0-9_.\-]{0,127}$")
_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?$")

ExecuteFn = Callable[[Any, "CallContext"], Any]
Contract = type[BaseModel] | Sequence[str]
Predicate = Callable[[Any, "CallContext"], bool]


@dataclass(frozen=True, slots=True)
class Capability:
    """A validated capability declaration. Build it with :func:`capability`."""

    id: str
    version: str
    intent: str
    requires: type[BaseModel]
    provides: type[BaseModel]
    effects: tuple[EffectSpec, ...]
    execute: ExecuteFn
    timeout: float
    blocking: bool
    is_async: bool
    roles: frozenset[str] = frozenset()
    predicate: Predicate | None = None
    permissions: PermissionsSpec | None = None
    rate_limit: RateLimit | None = None
    sensitive: tuple[str, ...] = ()
    reactor: Any = None
    """The :class:`~packetflow.reactor.ReactorHandler` of a reactor intent or query."""

    def describe(self) -> dict[str, Any]:
        """The full public contract, as published on the registry topic."""
        return {
            "id": self.id,
            "version": self.version,
            "intent": self.intent,
            "requires": self.requires.model_json_schema(),
            "provides": self.provides.model_json_schema(),
            "effects": [_describe_effect(e) for e in self.effects],
            "timeout_ms": int(self.timeout * 1000),
            "authorize": {
                "roles": sorted(self.roles),
                "predicate": self.predicate is not None,
                "permissions": (
                    "computed from the payload"
                    if callable(self.permissions)
                    else [str(p) for p in self.permissions or ()]
                ),
            },
            "rate_limit": str(self.rate_limit) if self.rate_limit else None,
            "sensitive": list(self.sensitive),
            "reactor": (
                {
                    "name": self.reactor.reactor.name,
                    "kind": self.reactor.kind,
                    "key": self.reactor.reactor.key,
                }
                if self.reactor is not None
                else None
            ),
        }


def capability(
    *,
    intent: str,
    requires: Contract = (),
    provides: Contract = (),
    effects: Iterable[EffectSpec | str] = (),
    id: str | None = None,
    version: str = "1.0.0",
    timeout: float = 30.0,
    blocking: bool = False,
    authorize: Sequence[str] | Predicate | None = None,
    permissions: PermissionsSpec | None = None,
    rate_limit: RateLimit | str | None = None,
    sensitive: Sequence[str] = (),
) -> Callable[[ExecuteFn], Capability]:
    """Declare a capability from its execute function ``fn(payload, ctx)``.

    ``requires``/``provides`` are pydantic models or lists of field names.
    ``blocking=True`` runs a sync function in a thread, so it can time out.
    ``authorize`` is a list of roles (any one suffices) or a predicate
    ``(payload, ctx) -> bool``; ``permissions`` a list of
    :class:`~packetflow.security.permissions.Permission` or a function of the
    payload returning them; ``rate_limit`` per (user, capability), e.g.
    ``"10/1s"``; ``sensitive`` dotted payload paths masked in audit records.
    """

    def decorate(fn: ExecuteFn) -> Capability:
        cap_id = id if id is not None else getattr(fn, "__name__", "")
        return build_capability(
            cap_id,
            fn,
            intent=intent,
            requires=requires,
            provides=provides,
            effects=effects,
            version=version,
            timeout=timeout,
            blocking=blocking,
            authorize=authorize,
            permissions=permissions,
            rate_limit=rate_limit,
            sensitive=sensitive,
        )

    return decorate


def build_capability(
    cap_id: str,
    fn: ExecuteFn,
    *,
    intent: str,
    requires: Contract,
    provides: Contract,
    effects: Iterable[EffectSpec | str],
    version: str,
    timeout: float,
    blocking: bool,
    authorize: Sequence[str] | Predicate | None = None,
    permissions: PermissionsSpec | None = None,
    rate_limit: RateLimit | str | None = None,
    sensitive: Sequence[str] = (),
    reactor: Any = None,
) -> Capability:
    """Validate every part of a declaration and return the capability."""
    if not isinstance(cap_id, str) or not _ID.match(cap_id):
        raise CapabilityDefinitionError(
            str(cap_id), "id must match [a-z][a-z0-9_.-]* (at most 128 characters)"
        )
    if not isinstance(intent, str) or not intent.strip():
        raise CapabilityDefinitionError(cap_id, "intent is missing: describe what it does")
    if not isinstance(version, str) or not _VERSION.match(version):
        raise CapabilityDefinitionError(cap_id, f"version {version!r} is not MAJOR.MINOR[.PATCH]")
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise CapabilityDefinitionError(
            cap_id, f"timeout must be positive seconds, not {timeout!r}"
        )
    _check_signature(cap_id, fn)
    is_async = inspect.iscoroutinefunction(fn)
    if blocking and is_async:
        raise CapabilityDefinitionError(cap_id, "blocking=True is for sync functions only")
    return Capability(
        id=cap_id,
        version=version,
        intent=intent.strip(),
        requires=_contract_model(cap_id, "requires", requires),
        provides=_contract_model(cap_id, "provides", provides),
        effects=_effects(cap_id, effects),
        execute=fn,
        timeout=float(timeout),
        blocking=blocking,
        is_async=is_async,
        **access_rules(cap_id, authorize, permissions, rate_limit, sensitive),
        reactor=reactor,
    )


def _check_signature(cap_id: str, fn: object) -> None:
    if not callable(fn):
        raise CapabilityDefinitionError(cap_id, "execute is not callable")
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError) as exc:
        raise CapabilityDefinitionError(cap_id, f"execute has no signature: {exc}") from None
    positional = [
        p
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    others = [p for p in params if p.kind in (p.VAR_POSITIONAL, p.KEYWORD_ONLY, p.VAR_KEYWORD)]
    required_kw = [p for p in others if p.kind is p.KEYWORD_ONLY and p.default is p.empty]
    if len(positional) != 2 or required_kw:
        shown = ", ".join(p.name for p in params) or "no parameters"
        raise CapabilityDefinitionError(
            cap_id, f"execute must take exactly (payload, ctx), it takes ({shown})"
        )


def _contract_model(cap_id: str, role: str, contract: object) -> type[BaseModel]:
    if isinstance(contract, type) and issubclass(contract, BaseModel):
        return contract
    if isinstance(contract, str) or not isinstance(contract, list | tuple):
        raise CapabilityDefinitionError(
            cap_id, f"{role} must be a pydantic model or a list of field names, not {contract!r}"
        )
    names = list(contract)
    bad = [
        n
        for n in names
        if not isinstance(n, str)
        or not n.isidentifier()
        or n.startswith("_")
        or hasattr(BaseModel, n)
    ]
    if bad:
        raise CapabilityDefinitionError(cap_id, f"{role} has invalid field names: {bad!r}")
    if len(set(names)) != len(names):
        raise CapabilityDefinitionError(cap_id, f"{role} names a field twice: {names!r}")
    fields: dict[str, Any] = {name: (Any, ...) for name in names}
    model_name = "".join(part.title() for part in re.split(r"[_.\-]", cap_id)) + role.title()
    return create_model(model_name, __config__=ConfigDict(extra="allow"), **fields)


def _usable_field(name: object) -> bool:
    """A name pydantic can use as a field: an identifier, not private, not a model attribute."""
    return (
        isinstance(name, str)
        and name.isidentifier()
        and not name.startswith("_")
        and not hasattr(BaseModel, name)
    )


def _effects(cap_id: str, effects: Iterable[EffectSpec | str]) -> tuple[EffectSpec, ...]:
    if isinstance(effects, str | bytes) or not isinstance(effects, Iterable):
        raise CapabilityDefinitionError(cap_id, f"effects must be a list, not {effects!r}")
    out: list[EffectSpec] = []
    for effect in effects:
        if effect == "audit_log":
            out.append(AuditLog())
        elif isinstance(effect, AuditLog | Metric | Custom):
            out.append(effect)
        else:
            raise CapabilityDefinitionError(
                cap_id,
                f"unknown effect kind {effect!r}: use AuditLog, Metric or Custom(kind, handler)",
            )
    names = [(e.kind, e.name) for e in out]
    dupes = sorted({f"{k}:{n}" for k, n in names if names.count((k, n)) > 1})
    if dupes:
        raise CapabilityDefinitionError(cap_id, f"effects declared twice: {dupes}")
    return tuple(out)


def _describe_effect(effect: EffectSpec) -> dict[str, Any]:
    if isinstance(effect, AuditLog):
        return {"kind": "audit_log", "level": effect.level}
    if isinstance(effect, Metric):
        return {"kind": "metrics", "type": effect.type, "name": effect.name}
    return {"kind": effect.kind, "options": dict(effect.options)}
