"""Run capabilities in-process, without Kafka, and assert on what they produced.

The seed's helpers, in Python::

    run = await execute_capability(user_profile_transform, {...}, {"user_id": "u1"})
    assert run.ok
    run.assert_effect_executed("audit_log")
    run.assert_metric_emitted("user_transforms")

The same :class:`~packetflow.pipeline.process.Processor` as the worker runs
here; only the Kafka consumer and producer are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic_core import from_json

from packetflow.avro import AvroCodec
from packetflow.capability import Capability
from packetflow.effects import EffectRecord
from packetflow.encoding import Encoding, encoding_of
from packetflow.envelope import (
    CapabilityError,
    CapabilityRequest,
    Context,
    ErrorBody,
    RequestMetadata,
    new_id,
)
from packetflow.metrics import Metrics
from packetflow.pipeline.decode import Limits
from packetflow.pipeline.process import Processor
from packetflow.pipeline.publish import Publisher
from packetflow.ratelimit.rule import MemoryRateLimiter, RateLimit
from packetflow.records import AuditRecord, Header, Outbound, RawRecord
from packetflow.registry import Registry
from packetflow.security.authenticate import AUTH_HEADER, Authenticator
from packetflow.topics import TopicNames

__all__ = ["CapabilityTester", "Execution", "execute_capability"]


@dataclass
class Execution:
    """Everything the worker would have produced for one request."""

    records: list[Outbound]
    topics: TopicNames
    metrics: Metrics
    _effects: list[EffectRecord] = field(default_factory=list)

    def on(self, topic: str) -> list[dict[str, Any]]:
        """Decoded JSON values of the records produced to ``topic``."""
        return [_decoded(r) for r in self.records if r.topic == topic]

    @property
    def ok(self) -> bool:
        """True when the request was answered with a response."""
        return bool(self.on(self.topics.responses)) and not self.on(self.topics.errors)

    @property
    def response(self) -> dict[str, Any]:
        """The response payload; raises AssertionError if there is none."""
        responses = self.on(self.topics.responses)
        assert responses, f"no response; error was {self.error!r}"
        payload: dict[str, Any] = responses[0]["payload"]
        return payload

    @property
    def error(self) -> ErrorBody | None:
        """The error body, if the request was answered with an error."""
        errors = self.on(self.topics.errors)
        return CapabilityError.model_validate(errors[0]).error if errors else None

    @property
    def effects(self) -> list[EffectRecord]:
        """Effect records produced."""
        return [EffectRecord.model_validate(d) for d in self.on(self.topics.effects)]

    @property
    def audit(self) -> list[AuditRecord]:
        """Audit records produced (one per attempt)."""
        return [AuditRecord.model_validate(d) for d in self.on(self.topics.audit)]

    @property
    def dead_letters(self) -> list[Outbound]:
        """Records sent to the dead-letter topic, unchanged."""
        return [r for r in self.records if r.topic == self.topics.dlq]

    def assert_effect_executed(self, kind: str, *, name: str | None = None) -> EffectRecord:
        """Assert an effect of ``kind`` (and ``name``) ran successfully; return its record."""
        for effect in self.effects:
            if effect.kind == kind and (name is None or effect.name == name):
                assert effect.status == "ok", f"effect {kind} failed: {effect.data}"
                return effect
        seen = [(e.kind, e.name) for e in self.effects]
        raise AssertionError(f"effect {kind!r} was not executed; effects were {seen}")

    def assert_metric_emitted(self, name: str) -> float:
        """Assert the business metric ``name`` was recorded; return its current value."""
        effect = self.assert_effect_executed("metrics", name=name)
        suffix = "_total" if effect.data.get("type") == "counter" else "_seconds_count"
        value = self.metrics.registry.get_sample_value(
            f"packetflow_business_{name}{suffix}", {"capability": effect.capability_id}
        )
        assert value, f"metric {name!r} has no recorded value"
        return value


def _decoded(record: Outbound) -> dict[str, Any]:
    if record.value is None:
        return {}
    raw = RawRecord(record.topic, 0, 0, record.key, record.value, record.headers)
    if encoding_of(raw) is Encoding.AVRO:
        return _CODEC.decode(record.value)[1]
    doc: dict[str, Any] = from_json(record.value)
    return doc


_CODEC = AvroCodec()


class CapabilityTester:
    """An in-process worker: one registry, one processor, records kept in memory."""

    def __init__(
        self,
        capabilities: Iterable[Capability] | Registry,
        *,
        limits: Limits | None = None,
        authenticator: Authenticator | None = None,
        rate_limits: Mapping[str, RateLimit] | None = None,
    ) -> None:
        self.registry = (
            capabilities if isinstance(capabilities, Registry) else Registry(capabilities)
        )
        self.topics = TopicNames()
        self.metrics = Metrics()
        self.processor = Processor(
            self.registry,
            Publisher(self.topics, "tester", reply_partitions=1),
            self.metrics,
            limits or Limits(),
            authenticator=authenticator,
            limiter=MemoryRateLimiter(),
            rate_limits=rate_limits,
        )
        self._offset = 0

    async def execute(
        self,
        capability_id: str,
        payload: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        *,
        timeout_ms: int | None = None,
        authorization: str | None = None,
    ) -> Execution:
        """Call ``capability_id`` as a client would, and return what the worker produced.

        ``authorization`` is the header value: ``"Bearer <JWT>"`` or ``"Biscuit <token>"``.
        """
        request = CapabilityRequest(
            capability_id=capability_id,
            payload=dict(payload or {}),
            context=Context.model_validate(context or {}),
            metadata=RequestMetadata(timeout=timeout_ms),
        )
        headers = [(AUTH_HEADER, authorization.encode())] if authorization else []
        value = request.model_dump_json().encode()
        return await self.send_raw(value, key=request.id.encode(), headers=headers)

    async def send_raw(
        self, value: bytes | None, *, key: bytes | None = None, headers: Sequence[Header] = ()
    ) -> Execution:
        """Hand raw bytes to the processor, exactly as if consumed from the requests topic."""
        self._offset += 1
        record = RawRecord(self.topics.requests, 0, self._offset, key, value, tuple(headers))
        return Execution(await self.processor.handle(record), self.topics, self.metrics)


async def execute_capability(
    capability: Capability,
    payload: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
) -> Execution:
    """Run one capability once, in-process (the seed's ``execute_capability``)."""
    return await CapabilityTester([capability]).execute(
        capability.id, payload, context or {"user_id": "test-user", "trace_id": new_id()}
    )
