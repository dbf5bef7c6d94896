"""What an execute function knows about its call: context, principal, nested calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from packetflow.envelope import Context, RequestMetadata
from packetflow.security.identity import ANONYMOUS, Principal

__all__ = ["CallContext", "Invoker", "Strategy"]

Invoker = Callable[[str, Mapping[str, Any], Context, "CallContext"], Awaitable[dict[str, Any]]]
Strategy = Literal["inherit", "merge"]


@dataclass(frozen=True, slots=True)
class CallContext:
    """What an execute function knows about the call besides its payload."""

    request_id: str
    capability_id: str
    context: Context
    metadata: RequestMetadata
    principal: Principal = ANONYMOUS
    invoker: Invoker | None = field(default=None, repr=False, compare=False)

    @property
    def user_id(self) -> str | None:
        """The caller's user id (verified when a credential was given)."""
        return self.principal.user_id if self.principal.verified else self.context.user_id

    @property
    def roles(self) -> frozenset[str]:
        """The caller's verified roles."""
        return self.principal.roles

    @property
    def trace_id(self) -> str | None:
        """The distributed trace id, if any."""
        return self.context.trace_id

    @property
    def hops(self) -> list[dict[str, str]]:
        """The chain of calls that led here, outermost first (the seed's ``trace``)."""
        return list((self.context.model_extra or {}).get("hops", []))

    def propagate(
        self, strategy: Strategy = "inherit", extra: Mapping[str, Any] | None = None
    ) -> Context:
        """The context of a nested call.

        ``inherit``: the same user, session, trace and extra fields, plus this
        call appended to ``hops``. ``merge``: the same, with ``extra`` fields
        added or replaced — except identity (``user_id``, ``session_id``,
        ``trace_id``, ``hops``), which a capability cannot change.
        """
        hop = {"capability": self.capability_id, "request": self.request_id}
        base = self.context.model_dump()
        if strategy == "merge":
            protected = {"user_id", "session_id", "trace_id", "hops"}
            base.update({k: v for k, v in (extra or {}).items() if k not in protected})
        elif strategy != "inherit":
            raise ValueError(f"unknown propagation strategy {strategy!r}")
        base["hops"] = [*self.hops, hop]
        return Context.model_validate(base)

    async def call(
        self,
        capability_id: str,
        payload: Mapping[str, Any] | None = None,
        *,
        strategy: Strategy = "inherit",
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Call another capability as the same principal, with a propagated context.

        Every check runs again for the nested call, and it is audited; a
        failure raises the :class:`~packetflow.errors.PacketFlowError` it got.
        """
        if self.invoker is None:
            raise RuntimeError("nested calls need a worker or a CapabilityTester")
        child = self.propagate(strategy, extra)
        return await self.invoker(capability_id, payload or {}, child, self)
