"""Nested calls: a capability calling another as the same principal (``ctx.call``).

Every check runs again for the nested call; its audit and effect records are
collected and published with the outer call's answer.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packetflow.capability import CallContext
from packetflow.envelope import CapabilityRequest, Context
from packetflow.errors import ExecutionFailed, PacketFlowError
from packetflow.metrics import Metrics
from packetflow.pipeline.audit import Auditor
from packetflow.pipeline.check import check
from packetflow.pipeline.effect import run_effects
from packetflow.pipeline.execute import execute
from packetflow.pipeline.publish import Publisher
from packetflow.records import Outbound, Outcome, RawRecord
from packetflow.registry import Registry
from packetflow.security.identity import Principal

__all__ = ["NestedCalls", "Nesting"]


@dataclass(frozen=True, slots=True)
class Nesting:
    """What every nested call of a worker needs: the registry and where records go."""

    registry: Registry
    publisher: Publisher
    metrics: Metrics
    auditor: Auditor


class NestedCalls:
    """The invoker of the nested calls made while one record is handled.

    Made for every record, so it only keeps references: most records make no
    nested call. Audit and effect records are appended to ``collected``.
    """

    __slots__ = ("_collected", "_nesting", "_principal", "_record")

    def __init__(
        self,
        nesting: Nesting,
        record: RawRecord,
        principal: Principal | None,
        collected: list[Outbound],
    ) -> None:
        self._nesting = nesting
        self._record = record
        self._principal = principal
        self._collected = collected

    async def __call__(
        self, capability_id: str, payload: Mapping[str, Any], context: Context, parent: CallContext
    ) -> dict[str, Any]:
        nesting = self._nesting
        request = CapabilityRequest(
            capability_id=capability_id,
            payload=dict(payload),
            context=context,
            metadata=parent.metadata.model_copy(update={"reply_partition": None}),
        )
        started = time.perf_counter()
        try:
            checked = check(request, nesting.registry, parent.principal, invoker=self)
            if checked.capability.reactor is not None:
                raise ExecutionFailed(
                    f"{capability_id!r} is a reactor capability: call it through Kafka,"
                    " not as a nested call"
                )
            result = await execute(checked)
        except PacketFlowError as error:
            self._audit(request, error, started)
            raise
        elapsed = time.perf_counter() - started
        effects = await run_effects(checked, result, elapsed, nesting.metrics)
        self._collected.extend(nesting.publisher.effect(e) for e in effects)
        self._audit(request, None, started)
        return result

    def _audit(
        self, request: CapabilityRequest, error: PacketFlowError | None, started: float
    ) -> None:
        outcome: Outcome = "error" if error else "ok"
        doc = self._nesting.auditor.doc(
            self._record, self._principal, outcome, request, error, started
        )
        self._collected.append(self._nesting.publisher.audit(doc))
