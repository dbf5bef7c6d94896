"""Capabilities that misbehave on purpose, loaded by the e2e worker beside ``streams``."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel

from packetflow import CallContext, capability


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
