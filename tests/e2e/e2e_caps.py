"""Capabilities that misbehave on purpose, loaded by the e2e worker beside ``streams``."""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from packetflow import AuditLog, CallContext, Custom, EffectInvocation, capability


class Sleep(BaseModel):
    seconds: float


@capability(intent="Sleep, to exceed a timeout", requires=Sleep, provides=["slept"], timeout=60)
async def slow(payload: Sleep, ctx: CallContext) -> dict[str, Any]:
    await asyncio.sleep(payload.seconds)
    return {"slept": payload.seconds}


@capability(intent="Always raise", provides=["never"])
def boom(payload: Any, ctx: CallContext) -> dict[str, Any]:
    raise RuntimeError("kaboom")


@capability(intent="Break its provides contract", provides=["promised"])
def liar(payload: Any, ctx: CallContext) -> dict[str, Any]:
    return {"something_else": 1}


class Attachment(BaseModel):
    size: int = Field(ge=0)
    seed: int


def blob(size: int, seed: int) -> str:
    """``size`` characters of base64 from a seeded generator: the same for the same seed, and
    not compressible below the broker's limit."""
    return base64.b64encode(random.Random(seed).randbytes(size * 3 // 4 + 3)).decode()[:size]


def attachment_data(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The ``attachment`` effect's data for a request's payload."""
    return {"seed": payload["seed"], "blob": blob(payload["size"], payload["seed"])}


def _attach(invocation: EffectInvocation) -> Mapping[str, Any]:
    return attachment_data(invocation.payload)


@capability(
    intent="Answer small, with an effect record as large as asked",
    requires=Attachment,
    provides=["size"],
    effects=[AuditLog(level="info"), Custom("attachment", _attach)],
)
def attach(payload: Attachment, ctx: CallContext) -> dict[str, Any]:
    return {"size": payload.size}
