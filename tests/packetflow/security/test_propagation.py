"""Nested calls: context propagated (inherit / merge), checks re-run, every attempt audited."""

from __future__ import annotations

from typing import Any

from packetflow import CallContext, capability
from packetflow.testing import CapabilityTester


@capability(intent="Report the context it sees", provides=["context", "hops"])
def inner(payload: Any, ctx: CallContext) -> dict[str, Any]:
    return {"context": ctx.context.model_dump(), "hops": ctx.hops}


@capability(intent="Admins only", provides=["ok"], authorize=["admin"])
def guarded(payload: Any, ctx: CallContext) -> dict[str, Any]:
    return {"ok": True}


@capability(intent="Call inner with a strategy", requires=["strategy"], provides=["seen"])
async def outer(payload: Any, ctx: CallContext) -> dict[str, Any]:
    extra = {"tenant": "t-2", "user_id": "root", "note": "x"}
    seen = await ctx.call("inner", {}, strategy=payload.strategy, extra=extra)
    return {"seen": seen}


@capability(intent="Try to call an admin capability", provides=["seen"])
async def escalate(payload: Any, ctx: CallContext) -> dict[str, Any]:
    return {"seen": await ctx.call("guarded")}


CONTEXT = {"user_id": "u1", "session_id": "s1", "trace_id": "t1", "tenant": "t-1"}


async def test_inherit_keeps_the_context_and_appends_the_hop() -> None:
    tester = CapabilityTester([inner, outer])
    run = await tester.execute("outer", {"strategy": "inherit"}, CONTEXT)
    seen = run.response["seen"]
    assert seen["context"]["tenant"] == "t-1"
    assert (seen["context"]["user_id"], seen["context"]["trace_id"]) == ("u1", "t1")
    assert [h["capability"] for h in seen["hops"]] == ["outer"]
    assert len(run.audit) == 2  # the nested attempt is audited too
    assert {a.capability_id for a in run.audit} == {"outer", "inner"}


async def test_merge_adds_fields_but_never_identity() -> None:
    tester = CapabilityTester([inner, outer])
    run = await tester.execute("outer", {"strategy": "merge"}, CONTEXT)
    context = run.response["seen"]["context"]
    assert (context["tenant"], context["note"]) == ("t-2", "x")
    assert context["user_id"] == "u1"


async def test_nested_call_cannot_escalate() -> None:
    tester = CapabilityTester([guarded, escalate])
    run = await tester.execute("escalate", {}, CONTEXT)
    assert run.error is not None
    assert run.error.type == "forbidden"
    outcomes = sorted((a.capability_id, a.outcome) for a in run.audit)
    assert outcomes == [("escalate", "error"), ("guarded", "error")]
