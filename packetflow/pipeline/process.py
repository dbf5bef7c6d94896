"""The whole request path for one consumed record: decode → check → execute → publish.

Authentication and authorization are part of *check*; a rate-limited
capability first hops through the limiter topic (:mod:`packetflow.ratelimit`). Nested
calls a capability makes run the same checks and are audited too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from packetflow.avro import AvroCodec
from packetflow.capability import Capability
from packetflow.encoding import Encoding
from packetflow.envelope import CapabilityRequest, Heartbeat
from packetflow.errors import PacketFlowError, ProtocolError
from packetflow.hops.bundle import MalformedBundle, is_bundle, unpack
from packetflow.hops.record import hop_record, origin_of, principal_from_hop, source_of
from packetflow.metrics import Metrics
from packetflow.pipeline.audit import Auditor
from packetflow.pipeline.check import Checked, check
from packetflow.pipeline.decode import Limits, UndecodableRecord, decode, reply_encoding
from packetflow.pipeline.effect import run_effects
from packetflow.pipeline.execute import execute
from packetflow.pipeline.nested import NestedCalls, Nesting
from packetflow.pipeline.oversize import OUTBOUND_MARGIN, fits, record_size
from packetflow.pipeline.publish import Publisher
from packetflow.ratelimit.rule import RateLimit, RateLimiter, enforce, rate_key
from packetflow.reactor.step import Reacted, ReactorRuntime, react
from packetflow.records import AuditDoc, Outbound, Outcome, RawRecord
from packetflow.registry import Registry
from packetflow.security.authenticate import Authenticator
from packetflow.security.identity import Principal

__all__ = ["Processor"]

log = logging.getLogger("packetflow.worker")

Stage = Literal["ingress", "limited", "reactor"]
"""Which topic a record came from: requests, the limiter topic, or a reactor topic."""


@dataclass(slots=True)
class _Attempt:
    """One consumed record on its way through the path."""

    record: RawRecord
    encoding: Encoding
    started: float = field(default_factory=time.perf_counter)
    principal: Principal | None = None
    nested: list[Outbound] = field(default_factory=list)
    consumed: RawRecord | None = None
    """The hop as consumed from an internal topic (``record`` is its origin)."""


class Processor:
    """Turns each consumed record into the records that answer it. Never raises."""

    def __init__(
        self,
        registry: Registry,
        publisher: Publisher,
        metrics: Metrics,
        limits: Limits,
        *,
        authenticator: Authenticator | None = None,
        limiter: RateLimiter | None = None,
        hop_topic: str | None = None,
        rate_limits: Mapping[str, RateLimit] | None = None,
        reactors: ReactorRuntime | None = None,
        reactor_topic: Callable[[str], str] | None = None,
        codec: AvroCodec | None = None,
    ) -> None:
        self.registry = registry
        self.publisher = publisher
        self.metrics = metrics
        self.limits = limits
        self.authenticator = authenticator or Authenticator(required=False)
        self.limiter = limiter
        self.hop_topic = hop_topic
        self.rate_limits = dict(rate_limits or {})
        self.reactors = reactors or ReactorRuntime()
        self.reactor_topic = reactor_topic
        self.codec = codec
        """Decodes Avro requests (with a schema registry's ids, if configured)."""
        self.auditor = Auditor(registry, publisher.worker_id)
        self._nesting = Nesting(registry, publisher, metrics, self.auditor)
        metrics.registered.set(len(registry))

    def rate_limit_of(self, cap: Capability) -> RateLimit | None:
        """The capability's limit, as overridden by configuration."""
        return self.rate_limits.get(cap.id, cap.rate_limit)

    async def handle(self, record: RawRecord) -> list[Outbound]:
        """Every outbound record for a record of the requests topic."""
        return await self._handle(_Attempt(record, reply_encoding(record)), "ingress")

    async def handle_hop(self, record: RawRecord, stage: Stage) -> list[Outbound]:
        """Every outbound record for a record of an internal topic (already authorized):
        one hop, or each hop of a bundle in order. A malformed bundle goes to the DLQ whole."""
        if not is_bundle(record):
            return await self._hop(record, stage)
        try:
            hops = unpack(record)
        except MalformedBundle as bad:
            return self._undecodable(_Attempt(record, Encoding.JSON), UndecodableRecord(bad))
        out: list[Outbound] = []
        for hop in hops:
            out += await self._hop(hop, stage)
        return out

    async def _hop(self, record: RawRecord, stage: Stage) -> list[Outbound]:
        encoding = reply_encoding(record)
        try:
            principal = principal_from_hop(record)
            attempt = _Attempt(origin_of(record), encoding, principal=principal, consumed=record)
        except ProtocolError as bad:  # not written by PacketFlow: dead-lettered, not retried
            return self._undecodable(_Attempt(record, encoding), UndecodableRecord(bad))
        return await self._handle(attempt, stage)

    async def _handle(self, attempt: _Attempt, stage: Stage) -> list[Outbound]:
        try:
            message = decode(attempt.record, self.limits, self.codec)
        except UndecodableRecord as bad:
            return self._undecodable(attempt, bad)
        except Exception as exc:  # a decoder bug: the record still goes to the DLQ
            log.exception("decoder failed on %s", attempt.record.offset)
            why = ProtocolError(f"record could not be decoded: {type(exc).__name__}")
            return self._undecodable(attempt, UndecodableRecord(why))
        if isinstance(message, Heartbeat):
            self.metrics.outcome("heartbeat")
            count = len(self.registry)
            audit = self._audit(attempt, "heartbeat", None)
            audit["correlation_id"] = message.id
            return [
                self.publisher.heartbeat(message, count, attempt.record, attempt.encoding),
                self.publisher.audit(audit),
            ]
        try:
            return await self._request(attempt, message, stage)
        except Exception as exc:  # a bug in PacketFlow itself: still answer, never stall
            log.exception("internal error on request %s", message.id)
            bug = PacketFlowError(f"internal error: {type(exc).__name__}")
            return self._failed(attempt, message, bug)

    async def _request(
        self, attempt: _Attempt, request: CapabilityRequest, stage: Stage
    ) -> list[Outbound]:
        try:
            if attempt.principal is None:
                attempt.principal = self.authenticator.authenticate(attempt.record, request)
            checked = check(
                request,
                self.registry,
                attempt.principal,
                invoker=NestedCalls(
                    self._nesting, attempt.record, attempt.principal, attempt.nested
                ),
                authorized=stage != "ingress",
            )
            hop = self._route(attempt, checked, stage)
            if hop is not None:
                return [hop]
            exec_started = time.perf_counter()
            if checked.capability.reactor is not None:
                source = source_of(attempt.consumed, attempt.record) if attempt.consumed else None
                reacted = react(checked, self.reactors, source)
                exec_s = time.perf_counter() - exec_started
                return await self._reacted(attempt, checked, reacted, exec_s)
            result = await execute(checked)
            exec_s = time.perf_counter() - exec_started
        except PacketFlowError as error:
            return self._failed(attempt, request, error)
        return await self._succeeded(attempt, checked, result, exec_s)

    def _route(self, attempt: _Attempt, checked: Checked, stage: Stage) -> Outbound | None:
        """The internal hop this request must take next, if any (counting its rate limit)."""
        cap = checked.capability
        principal = checked.ctx.principal
        limit = self.rate_limit_of(cap)
        if limit is not None and stage == "ingress" and self.hop_topic is not None:
            key = rate_key(principal.user_id, cap.id)
            return hop_record(attempt.record, self.hop_topic, principal, key)
        if limit is not None and stage in ("ingress", "limited") and self.limiter is not None:
            enforce(self.limiter, limit, principal.user_id, cap.id)
        handler = cap.reactor
        if handler is not None and stage != "reactor" and self.reactor_topic is not None:
            topic = self.reactor_topic(handler.reactor.name)
            via = attempt.consumed if stage == "limited" else None
            return hop_record(
                attempt.record,
                topic,
                principal,
                handler.key_of(checked.payload),
                f"{via.topic}:{via.partition}" if via else None,
            )
        return None

    async def _reacted(
        self, attempt: _Attempt, checked: Checked, reacted: Reacted, exec_s: float
    ) -> list[Outbound]:
        request = checked.request
        self.metrics.executed(request.capability_id)
        self.metrics.outcome("ok")
        effects = (
            []
            if reacted.replayed
            else await run_effects(checked, reacted.result, exec_s, self.metrics)
        )
        pub = self.publisher
        response = pub.response(
            request,
            reacted.result,
            exec_s * 1000,
            attempt.record,
            attempt.encoding,
            extra={"version": reacted.version, "replayed": reacted.replayed},
        )
        if not fits(response, pub.max_record_bytes):
            return self._failed(attempt, request, _too_large(response, pub.max_record_bytes))
        return [
            response,
            *(pub.effect(record, key) for key, record in reacted.effects),
            *(pub.effect(e) for e in effects),
            pub.audit(self._audit(attempt, "ok", request)),
        ]

    async def _succeeded(
        self, attempt: _Attempt, checked: Checked, result: dict[str, Any], exec_s: float
    ) -> list[Outbound]:
        request = checked.request
        cap_id = request.capability_id
        self.metrics.executed(cap_id, exec_s)
        self.metrics.outcome("ok")
        pub = self.publisher
        response = pub.response(request, result, exec_s * 1000, attempt.record, attempt.encoding)
        if not fits(response, pub.max_record_bytes):
            return self._failed(attempt, request, _too_large(response, pub.max_record_bytes))
        effects = await run_effects(checked, result, exec_s, self.metrics)
        return [
            response,
            *attempt.nested,
            *(pub.effect(e) for e in effects),
            pub.audit(self._audit(attempt, "ok", request)),
        ]

    def _failed(
        self, attempt: _Attempt, request: CapabilityRequest, error: PacketFlowError
    ) -> list[Outbound]:
        log.info("request %s to %s failed: %s", request.id, request.capability_id, error.message)
        self.metrics.failed(request.capability_id, error.error_type)
        self.metrics.outcome("error")
        answer = self.publisher.error(
            error,
            attempt.record,
            correlation_id=request.id,
            capability_id=request.capability_id,
            request=request,
            reply_partition=request.metadata.reply_partition,
            encoding=attempt.encoding,
        )
        audit = self.publisher.audit(self._audit(attempt, "error", request, error))
        return [answer, *attempt.nested, audit]

    def _undecodable(self, attempt: _Attempt, bad: UndecodableRecord) -> list[Outbound]:
        record = attempt.record
        log.warning(
            "dead letter from %s[%d]@%d: %s",
            record.topic,
            record.partition,
            record.offset,
            bad.error.message,
        )
        self.metrics.outcome("dead_letter")
        out = [self.publisher.dead_letter(record, bad.error)]
        if bad.correlation_id is not None:
            out.append(
                self.publisher.error(
                    bad.error,
                    record,
                    correlation_id=bad.correlation_id,
                    capability_id=bad.capability_id,
                    reply_partition=bad.reply_partition,
                    encoding=attempt.encoding,
                )
            )
        audit = self._audit(attempt, "dead_letter", None, bad.error)
        audit["correlation_id"], audit["capability_id"] = bad.correlation_id, bad.capability_id
        out.append(self.publisher.audit(audit))
        return out

    def _audit(
        self,
        attempt: _Attempt,
        outcome: Outcome,
        request: CapabilityRequest | None,
        error: PacketFlowError | None = None,
    ) -> AuditDoc:
        return self.auditor.doc(
            attempt.record, attempt.principal, outcome, request, error, attempt.started
        )


def _too_large(response: Outbound, limit: int) -> PacketFlowError:
    """The error answering a request whose response the broker would refuse for its size."""
    size = record_size(response.key, response.value, response.headers)
    return PacketFlowError(
        f"the response is {size} bytes, more than the broker takes: the limit is {limit} "
        f"bytes, {OUTBOUND_MARGIN} of them kept for Kafka's framing",
        {"size": size, "limit": limit},
    )
