"""Who is calling: the verified principal a request runs as."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from packetflow.security.permissions import Permission

__all__ = ["ANONYMOUS", "Principal"]

Method = Literal["anonymous", "jwt", "biscuit", "internal"]


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller: user id, roles and permission grants, and how they were established.

    For ``anonymous`` callers ``user_id`` is what the client claimed, unverified,
    and roles and grants are empty.
    """

    user_id: str | None
    method: Method
    roles: frozenset[str] = frozenset()
    grants: tuple[Permission, ...] = ()
    claims: Mapping[str, Any] = field(default_factory=dict)
    token: Any = field(default=None, repr=False, compare=False)
    """The verified Biscuit, whose attenuation checks run at authorization."""

    @property
    def verified(self) -> bool:
        """True when the identity comes from a verified credential."""
        return self.method != "anonymous"

    def to_header(self) -> dict[str, Any]:
        """A JSON-ready form, carried between a worker's own internal hops."""
        return {
            "user_id": self.user_id,
            "method": self.method,
            "roles": sorted(self.roles),
            "grants": [str(g) for g in self.grants],
        }


ANONYMOUS = Principal(None, "anonymous")
