"""The shared workload: one request record shape, and the transform every contender does.

A request is a PacketFlow ``capability_request`` envelope of ~370 bytes whose
payload carries the load generator's send stamp (``sent_ns``, wall clock ns).
Every contender answers with a ``capability_response`` that echoes the payload
(email normalised), keyed by the request id, so one measurer reads them all.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

import jwt
from pydantic_core import from_json, to_json

from benchmarks.caps import ECHO_ID
from packetflow.topics import TopicNames

__all__ = [
    "JWT_SECRET",
    "TopicSet",
    "auth_headers",
    "env_topics",
    "request_doc",
    "request_value",
    "respond",
    "transform",
]


JWT_SECRET = "packetflow-benchmark-only-hs256-secret-0123456789"
"""The HS256 secret the PacketFlow contender verifies requests with (benchmarks only)."""


@cache
def auth_headers() -> tuple[tuple[str, bytes], ...]:
    """Every request carries ``authorization: Bearer <JWT for user "bench">``.

    PacketFlow's default (``PACKETFLOW_AUTH=required``) verifies it; the raw
    contenders ignore it, so all of them read the same bytes.
    """
    claims = {"sub": "bench", "exp": int(time.time()) + 7 * 86400}
    token = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
    return (("authorization", f"Bearer {token}".encode()),)


@dataclass(frozen=True, slots=True)
class TopicSet:
    """A contender's fresh topics; ``prefix`` doubles as its app id / consumer group."""

    prefix: str
    partitions: int
    capability: str = ECHO_ID
    """The capability the load generator calls."""
    keys: int = 0
    """How many payload names (the reactor's keys) requests cycle through; 0: one each."""

    @property
    def requests(self) -> str:
        return TopicNames(self.prefix).requests

    @property
    def responses(self) -> str:
        return TopicNames(self.prefix).responses

    @property
    def effects(self) -> str:
        return TopicNames(self.prefix).effects

    @property
    def audit(self) -> str:
        return TopicNames(self.prefix).audit

    def env(self, broker: str) -> dict[str, str]:
        """How the raw contenders are told where to read and write."""
        return {
            "BENCH_BROKER": broker,
            "BENCH_APP_ID": self.prefix,
            "BENCH_REQUESTS": self.requests,
            "BENCH_RESPONSES": self.responses,
            "BENCH_PARTITIONS": str(self.partitions),
        }


def env_topics() -> tuple[str, TopicSet]:
    """The broker and topics a raw contender was started with (see :meth:`TopicSet.env`)."""
    broker = os.environ.get("BENCH_BROKER", "127.0.0.1:9092")
    prefix = os.environ.get("BENCH_APP_ID", "bench")
    return broker, TopicSet(prefix, int(os.environ.get("BENCH_PARTITIONS", "8")))


def request_doc(
    request_id: str, seq: int, sent_ns: int, capability: str = ECHO_ID, keys: int = 0
) -> dict[str, Any]:
    """One request envelope; the payload satisfies :class:`benchmarks.caps.EchoIn`.

    Its ``name`` (the reactor's key) is new for each ``seq``, or one of ``keys`` names.
    """
    return {
        "version": "1.0",
        "type": "capability_request",
        "id": request_id,
        "capability_id": capability,
        "payload": {
            "sent_ns": sent_ns,
            "seq": seq,
            "name": f"user-{seq % keys if keys else seq:08d}",
            "email": f"  User-{seq:08d}@Example.COM ",
            "tags": ["a", "b"],
            "score": 0.5 + seq % 100,
            "address": {"street": "1 Main St", "city": "Paris", "zip": "75001"},
        },
        "context": {"user_id": "bench", "session_id": "s1"},
        "metadata": {"timeout": 5000},
    }


def request_value(
    request_id: str, seq: int, sent_ns: int, capability: str = ECHO_ID, keys: int = 0
) -> bytes:
    """:func:`request_doc` as UTF-8 JSON bytes."""
    return to_json(request_doc(request_id, seq, sent_ns, capability, keys))


def transform(request: dict[str, Any]) -> dict[str, Any]:
    """The raw contenders' work: the response envelope echoing the normalised payload."""
    payload = dict(request["payload"])
    payload["email"] = payload["email"].strip().lower()
    return {
        "version": "1.0",
        "type": "capability_response",
        "correlation_id": request["id"],
        "capability_id": request["capability_id"],
        "payload": payload,
    }


def respond(value: bytes) -> tuple[bytes, bytes]:
    """Key and value of the response to a request value (bytes in, bytes out)."""
    response = transform(from_json(value))
    return response["correlation_id"].encode(), to_json(response)
