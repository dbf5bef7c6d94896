"""Nested calls: a capability calling another as the same principal (``ctx.call``).

Every check runs again for the nested call; its audit and effect records are
collected and published with the outer call's answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from packetflow.capability import CallContext, Invoker
from packetflow.envelope import CapabilityRequest, Context
from packetflow.errors import ExecutionFailed, PacketFlowError
from packetflow.metrics import Metrics
from packetflow.pipeline.check import check
from packetflow.pipeline.effect import run_effects
from packetflow.pipeline.execute import execute
from packetflow.pipeline.publish import Publisher
from packetflow.records import AuditDoc, Outbound
from packetflow.registry import Registry

__all__ = ["nested_invoker"]

AuditFn = Callable[[CapabilityRequest, PacketFlowError | None, float], AuditDoc]


def nested_invoker(
    registry: Registry,
    publisher: Publisher,
    metrics: Metrics,
    audit: AuditFn,
    collected: list[Outbound],
) -> Invoker:
    """An invoker whose audit and effect records are appended to ``collected``."""

    async def invoke(
        capability_id: str, payload: Mapping[str, Any], context: Context, parent: CallContext
    ) -> dict[str, Any]:
        request = CapabilityRequest(
            capability_id=capability_id,
            payload=dict(payload),
            context=context,
            metadata=parent.metadata.model_copy(update={"reply_partition": None}),
        )
        started = time.perf_counter()
        try:
            checked = check(request, registry, parent.principal, invoker=invoke)
            if checked.capability.reactor is not None:
                raise ExecutionFailed(
                    f"{capability_id!r} is a reactor capability: call it through Kafka,"
                    " not as a nested call"
                )
            result = await execute(checked)
        except PacketFlowError as error:
            collected.append(publisher.audit(audit(request, error, started)))
            raise
        effects = await run_effects(checked, result, time.perf_counter() - started, metrics)
        collected.extend(publisher.effect(e) for e in effects)
        collected.append(publisher.audit(audit(request, None, started)))
        return result

    return invoke
