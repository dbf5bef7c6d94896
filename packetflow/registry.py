"""The capability registry: O(1) lookup by id, and the published contract."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from packetflow.capability import Capability
from packetflow.envelope import SUPPORTED_VERSIONS
from packetflow.errors import CapabilityDefinitionError

__all__ = ["PROTOCOL_FEATURES", "Registry"]

PROTOCOL_FEATURES: tuple[str, ...] = (
    "json",
    "avro",
    "dead_letter",
    "heartbeat",
    "reply_partition",
    "payload_limits",
)
"""Protocol features every capability served by this worker supports."""


class Registry:
    """The capabilities a worker serves, keyed by id."""

    def __init__(self, capabilities: Iterable[Capability] = ()) -> None:
        self._by_id: dict[str, Capability] = {}
        self._described: dict[str, dict[str, Any]] = {}
        for cap in capabilities:
            self.register(cap)

    def register(self, cap: Capability) -> None:
        """Add a capability; a second capability with the same id is refused."""
        if not isinstance(cap, Capability):
            raise CapabilityDefinitionError(
                str(getattr(cap, "id", cap)), "is not a Capability (declare it with @capability)"
            )
        existing = self._by_id.get(cap.id)
        if existing is not None and existing is not cap:
            raise CapabilityDefinitionError(
                cap.id,
                f"duplicate id: already registered by {_origin(existing)}, again by {_origin(cap)}",
            )
        self._by_id[cap.id] = cap
        self._described.pop(cap.id, None)

    def get(self, capability_id: str) -> Capability | None:
        """The capability with this id, or None."""
        return self._by_id.get(capability_id)

    def __contains__(self, capability_id: object) -> bool:
        return capability_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Capability]:
        return iter(self._by_id.values())

    def ids(self) -> list[str]:
        """Registered ids, sorted."""
        return sorted(self._by_id)

    def describe(self, capability_id: str) -> dict[str, Any]:
        """The published contract of one capability (see :meth:`Capability.describe`).

        Built once per capability (JSON Schema generation is costly) and shared:
        treat the returned mapping as read-only.
        """
        described = self._described.get(capability_id)
        if described is None:
            cap = self._by_id[capability_id]
            described = {
                **cap.describe(),
                "protocol": {
                    "versions": list(SUPPORTED_VERSIONS),
                    "features": list(PROTOCOL_FEATURES),
                },
            }
            self._described[capability_id] = described
        return described

    def describe_all(self) -> list[dict[str, Any]]:
        """Every contract, sorted by id."""
        return [self.describe(i) for i in self.ids()]


def _origin(cap: Capability) -> str:
    fn = cap.execute
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"
