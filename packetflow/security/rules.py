"""Validation of a capability's access rules: roles or predicate, permissions, rate limit."""

from __future__ import annotations

from typing import Any

from packetflow.errors import CapabilityDefinitionError
from packetflow.ratelimit.rule import RateLimit
from packetflow.security.permissions import Permission

__all__ = ["access_rules"]


def access_rules(
    cap_id: str,
    authorize: object,
    permissions: object,
    rate_limit: object,
    sensitive: object,
) -> dict[str, Any]:
    """Validate the access rules of a declaration; keyword arguments for ``Capability``."""
    roles: frozenset[str] = frozenset()
    predicate = None
    if callable(authorize):
        predicate = authorize
    elif authorize is not None:
        if isinstance(authorize, str) or not isinstance(authorize, list | tuple | set | frozenset):
            raise CapabilityDefinitionError(
                cap_id, f"authorize must be a list of roles or a predicate, not {authorize!r}"
            )
        if not authorize or not all(isinstance(r, str) and r for r in authorize):
            raise CapabilityDefinitionError(cap_id, "authorize needs non-empty role names")
        roles = frozenset(authorize)
    if permissions is not None and not callable(permissions):
        if isinstance(permissions, str) or not isinstance(permissions, list | tuple):
            raise CapabilityDefinitionError(
                cap_id, "permissions must be a list of Permission or a function of the payload"
            )
        bad = [p for p in permissions if not isinstance(p, Permission)]
        if bad:
            raise CapabilityDefinitionError(cap_id, f"not permissions: {bad!r}")
        permissions = tuple(permissions)
    limit = None
    if isinstance(rate_limit, str):
        try:
            limit = RateLimit.parse(rate_limit)
        except ValueError as exc:
            raise CapabilityDefinitionError(cap_id, str(exc)) from None
    elif isinstance(rate_limit, RateLimit):
        limit = rate_limit
    elif rate_limit is not None:
        raise CapabilityDefinitionError(cap_id, f"rate_limit {rate_limit!r} is not 'N/SECONDS'")
    paths = tuple(sensitive) if isinstance(sensitive, list | tuple) else None
    if paths is None or not all(isinstance(p, str) and p for p in paths):
        raise CapabilityDefinitionError(cap_id, "sensitive must be a list of dotted field paths")
    return {
        "roles": roles,
        "predicate": predicate,
        "permissions": permissions,
        "rate_limit": limit,
        "sensitive": paths,
    }
