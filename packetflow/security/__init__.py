"""Identity, permissions with implications, RBAC/ABAC, attenuable tokens, rate limits."""

from packetflow.security.identity import ANONYMOUS, Principal
from packetflow.security.permissions import (
    DEFAULT_LATTICE,
    Lattice,
    Permission,
    PermissionFamily,
    implies,
    parse_permission,
)
from packetflow.security.ratelimit import RateLimit

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
