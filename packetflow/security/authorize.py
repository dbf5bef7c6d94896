"""May this principal run this capability with this payload? Roles, predicate, permissions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from packetflow.errors import Forbidden
from packetflow.security.identity import Principal
from packetflow.security.permissions import DEFAULT_LATTICE, Lattice, Permission, PermissionsSpec
from packetflow.security.tokens import check_biscuit

__all__ = ["Caller", "Guarded", "authorize", "may_call", "required_permissions"]

log = logging.getLogger("packetflow.security")


class Guarded(Protocol):
    """The access rules of something callable (a :class:`~packetflow.capability.Capability`)."""

    @property
    def id(self) -> str:
        """Its id, for the reasons given."""

    @property
    def roles(self) -> frozenset[str]:
        """Roles of which the caller needs one (none: any)."""

    @property
    def predicate(self) -> Callable[[Any, Any], bool] | None:
        """``(payload, caller) -> bool``, when declared."""

    @property
    def permissions(self) -> PermissionsSpec | None:
        """Permissions the call needs, or a function of the payload naming them."""


class Caller(Protocol):
    """Who calls (a :class:`~packetflow.context.CallContext`)."""

    @property
    def principal(self) -> Principal:
        """The authenticated principal."""


def required_permissions(cap: Guarded, payload: Any) -> list[Permission]:
    """The permissions this call needs (a capability may compute them from the payload)."""
    if cap.permissions is None:
        return []
    if callable(cap.permissions):
        try:
            return list(cap.permissions(payload))
        except Exception as exc:  # fail closed
            log.warning("permissions of %s raised %r", cap.id, exc)
            raise Forbidden("required permissions could not be computed") from None
    return list(cap.permissions)


def authorize(cap: Guarded, payload: Any, ctx: Caller, lattice: Lattice = DEFAULT_LATTICE) -> None:
    """Raise ``Forbidden`` (with the reason) unless every declared rule allows the call."""
    principal = ctx.principal
    if cap.roles and not (principal.roles & cap.roles):
        raise Forbidden(
            f"{cap.id!r} requires one of the roles {sorted(cap.roles)}",
            {"required_roles": sorted(cap.roles)},
        )
    required = required_permissions(cap, payload)
    missing = [str(p) for p in required if not lattice.allows(principal.grants, p)]
    if missing:
        raise Forbidden(f"missing permissions for {cap.id!r}", {"missing": missing})
    if cap.predicate is not None:
        try:
            allowed = bool(cap.predicate(payload, ctx))
        except Exception as exc:  # a predicate that fails denies
            log.warning("authorize predicate of %s raised %r", cap.id, exc)
            allowed = False
        if not allowed:
            raise Forbidden(f"{cap.id!r} does not allow this caller for this payload")
    check_biscuit(principal, required, cap.id)


def may_call(cap: Guarded, ctx: Caller, lattice: Lattice = DEFAULT_LATTICE) -> bool:
    """Whether discovery should show ``cap``: roles and static permissions allow it."""
    principal = ctx.principal
    if cap.roles and not (principal.roles & cap.roles):
        return False
    if cap.permissions is None or callable(cap.permissions):
        return True
    return all(lattice.allows(principal.grants, p) for p in cap.permissions)
