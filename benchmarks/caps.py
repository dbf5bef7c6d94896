"""The benchmark's capability: echo the payload back with its email normalised.

Loaded by the worker with ``PACKETFLOW_CAPABILITIES=benchmarks.caps``. It takes
the full request path: decode, checks, pydantic ``requires``/``provides``,
execute, one metric effect (so an effect record), the response and the audit record.
"""

from __future__ import annotations

from pydantic import BaseModel

from packetflow import CallContext, Metric, capability
from packetflow.reactor import Emit, Reactor

__all__ = ["ECHO_ID", "REACTOR_ID", "Address", "EchoIn", "EchoOut", "bench_echo", "bench_state"]

ECHO_ID = "bench_echo"
REACTOR_ID = "bench_state.record"


class Address(BaseModel):
    """A nested object, so validation has some depth."""

    street: str
    city: str
    zip: str


class EchoIn(BaseModel):
    """The request payload (``sent_ns`` is the load generator's send stamp)."""

    sent_ns: int
    seq: int
    name: str
    email: str
    tags: list[str]
    score: float
    address: Address


class EchoOut(EchoIn):
    """The same fields, returned with ``email`` stripped and lower-cased."""


@capability(
    intent="Echo a payload with its email normalised (benchmark workload)",
    requires=EchoIn,
    provides=EchoOut,
    effects=[Metric.counter("bench_echo")],
    timeout=5.0,
)
async def bench_echo(payload: EchoIn, ctx: CallContext) -> EchoOut:
    """The trivial transform every contender performs."""
    return EchoOut(**{**payload.model_dump(), "email": payload.email.strip().lower()})


class Seen(BaseModel):
    """A reactor key's state: how many requests it saw, and the last one's stamp."""

    count: int = 0
    seq: int = -1
    sent_ns: int = 0


bench_state = Reactor("bench_state", state=Seen, key="name")


@bench_state.intent(intent="Record a request in its key's state (benchmark)", requires=EchoIn)
def record(payload: EchoIn, state: Seen) -> tuple[Seen, list[Emit]]:
    """One RocksDB state update per request; the answer carries ``sent_ns`` for latency."""
    return Seen(count=state.count + 1, seq=payload.seq, sent_ns=payload.sent_ns), []
