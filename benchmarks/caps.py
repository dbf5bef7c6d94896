"""The benchmark's capability: echo the payload back with its email normalised.

Loaded by the worker with ``PACKETFLOW_CAPABILITIES=benchmarks.caps``. It takes
the full request path: decode, checks, pydantic ``requires``/``provides``,
execute, one metric effect (so an effect record), the response and the audit record.
"""

from __future__ import annotations

from pydantic import BaseModel

from packetflow import CallContext, Metric, capability

__all__ = ["ECHO_ID", "Address", "EchoIn", "EchoOut", "bench_echo"]

ECHO_ID = "bench_echo"


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
