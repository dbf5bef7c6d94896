"""Identity, permissions with implications, RBAC/ABAC, attenuable tokens, rate limits."""

from packetflow.ratelimit.rule import RateLimit
from packetflow.security.identity import ANONYMOUS, Principal
from packetflow.security.permissions import (
    DEFAULT_LATTICE,
    Lattice,
    Permission,
    PermissionFamily,
    implies,
    parse_permission,
)

__all__ = [
    "ANONYMOUS",
    "DEFAULT_LATTICE",
    "Lattice",
    "Permission",
    "PermissionFamily",
    "Principal",
    "RateLimit",
    "implies",
    "parse_permission",
]
