"""The rate-limit step: count the call against its (user, capability) window.

In a worker a limited request first hops through the limiter topic, keyed by
``user|capability``, so the partition that owns the counter sees every call it
counts (:func:`hop_record`, :func:`principal_from_hop`). In-process (tests) the
limiter is consulted directly.
"""

from __future__ import annotations

import json
import time

from packetflow.errors import RateLimited
from packetflow.records import Header, Outbound, RawRecord
from packetflow.security.authenticate import AUTH_HEADER
from packetflow.security.identity import Principal
from packetflow.security.permissions import parse_permission
from packetflow.security.ratelimit import RateLimit, RateLimiter, rate_key

__all__ = [
    "ORIGIN_HEADER",
    "PRINCIPAL_HEADER",
    "enforce",
    "hop_record",
    "origin_of",
    "principal_from_hop",
]

PRINCIPAL_HEADER = "packetflow-principal"
ORIGIN_HEADER = "packetflow-origin"


def enforce(limiter: RateLimiter, limit: RateLimit, user_id: str | None, capability: str) -> None:
    """Count the call; raise ``RateLimited`` with ``retry_after_ms`` when over the limit."""
    retry_after = limiter.hit(rate_key(user_id, capability), limit, time.time())
    if retry_after is not None:
        retry_ms = max(1, round(retry_after * 1000))
        raise RateLimited(
            f"rate limit {limit} of {capability!r} exceeded",
            {"limit": str(limit), "retry_after_ms": retry_ms},
        )


def hop_record(record: RawRecord, topic: str, principal: Principal, capability: str) -> Outbound:
    """The request, unchanged but for its credential, re-keyed for the limiter topic."""
    headers: list[Header] = [h for h in record.headers if h[0] != AUTH_HEADER]
    headers.append((PRINCIPAL_HEADER, json.dumps(principal.to_header()).encode()))
    origin = f"{record.topic}:{record.partition}:{record.offset}"
    headers.append((ORIGIN_HEADER, origin.encode()))
    key = rate_key(principal.user_id, capability).encode()
    return Outbound(topic, key, record.value or b"", tuple(headers), kind="hop")


def principal_from_hop(record: RawRecord) -> Principal:
    """The principal the first hop established (the limiter topic is internal)."""
    raw = record.header(PRINCIPAL_HEADER)
    if raw is None:
        raise ValueError("hop record without a principal header")
    doc = json.loads(raw)
    return Principal(
        user_id=doc.get("user_id"),
        method=doc.get("method", "anonymous"),
        roles=frozenset(doc.get("roles", ())),
        grants=tuple(parse_permission(g) for g in doc.get("grants", ())),
    )


def origin_of(record: RawRecord) -> RawRecord:
    """The record as it was first consumed (topic, partition, offset) for audit."""
    raw = record.header(ORIGIN_HEADER)
    if raw is None:
        return record
    topic, partition, offset = raw.decode().rsplit(":", 2)
    return RawRecord(topic, int(partition), int(offset), record.key, record.value, record.headers)
