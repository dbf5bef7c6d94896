"""Names of the topics PacketFlow reads and writes, under one prefix."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TopicNames"]


@dataclass(frozen=True, slots=True)
class TopicNames:
    """``<prefix>.requests``, ``<prefix>.responses`` and the rest."""

    prefix: str = "packetflow"

    @property
    def requests(self) -> str:
        """Capability requests and heartbeats, produced by clients."""
        return f"{self.prefix}.requests"

    @property
    def responses(self) -> str:
        """Successful responses and heartbeat replies."""
        return f"{self.prefix}.responses"

    @property
    def errors(self) -> str:
        """``capability_error`` records."""
        return f"{self.prefix}.errors"

    @property
    def effects(self) -> str:
        """One record per executed effect."""
        return f"{self.prefix}.effects"

    @property
    def audit(self) -> str:
        """One record per attempt, whatever its outcome."""
        return f"{self.prefix}.audit"

    @property
    def dlq(self) -> str:
        """Undecodable records with their original bytes (dead letters)."""
        return f"{self.prefix}.dlq"

    @property
    def limiter(self) -> str:
        """Internal: rate-limited requests, keyed by ``user|capability``."""
        return f"{self.prefix}.requests.limited"

    def reactor(self, name: str) -> str:
        """Internal: requests for reactor ``name``, keyed by state key."""
        return f"{self.prefix}.reactor.{name}"

    @property
    def registry(self) -> str:
        """Compacted: the contract of every capability, keyed by id."""
        return f"{self.prefix}.registry"

    def outputs(self) -> tuple[str, ...]:
        """Every topic the worker writes, except the registry."""
        return (self.responses, self.errors, self.effects, self.audit, self.dlq)
