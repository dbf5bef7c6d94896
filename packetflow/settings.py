"""Worker configuration, read from ``PACKETFLOW_*`` environment variables."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from packetflow.security.authenticate import Authenticator
from packetflow.security.permissions import parse_permission
from packetflow.security.ratelimit import RateLimit
from packetflow.security.tokens import BiscuitVerifier, JwtSettings, JwtVerifier
from packetflow.topics import TopicNames

__all__ = ["Settings", "SettingsError"]


class SettingsError(ValueError):
    """An environment variable holds a value PacketFlow cannot use."""


def _default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a worker or client needs to know; see the README's table."""

    broker: str = "127.0.0.1:9092"
    app_id: str = "packetflow"
    topic_prefix: str = "packetflow"
    partitions: int = 8
    replication: int = 1
    capabilities: tuple[str, ...] = ("streams",)
    concurrency: int = 8
    batch: int = 1000
    producer_batch_bytes: int = 524_288
    stream_buffer: int = 128
    web_port: int = 6066
    web_bind: str = "0.0.0.0"
    data_dir: str = "packetflow-data"
    max_record_bytes: int = 1_048_576
    max_payload_depth: int = 32
    max_payload_width: int = 10_000
    encoding: str = "json"
    auth: str = "required"
    jwt_algorithms: str = ""
    jwt_secret: str = ""
    jwt_public_key: str = ""
    jwt_issuer: str = ""
    jwt_audience: str = ""
    jwt_leeway: int = 30
    biscuit_public_key: str = ""
    rate_limits: str = ""
    anonymous_grants: str = ""
    store: str = "rocksdb"
    standby_replicas: int = 1
    reactor_batch: int = 200
    hop_bundle: int = 100
    hop_linger_ms: int = 10
    hop_batch_wait_ms: int = 3
    fetch_wait_ms: int = 0
    reactor_dedup_window: int = 128
    reactor_cache_bytes: int = 2_000_000
    web_host: str = ""
    session_timeout: int = 30
    schema_registry_url: str = ""
    guarantee: str = "at_least_once"
    worker_id: str = field(default_factory=_default_worker_id)

    @property
    def topics(self) -> TopicNames:
        """Topic names under :attr:`topic_prefix`."""
        return TopicNames(self.topic_prefix)

    @property
    def exactly_once(self) -> bool:
        """Whether answers and offsets are written in Kafka transactions (``exactly_once``)."""
        return self.guarantee == "exactly_once"

    @property
    def heartbeat_interval(self) -> int:
        """Seconds between consumer heartbeats: a tenth of the session timeout, at least 1."""
        return max(1, self.session_timeout // 10)

    @property
    def transfer_bytes(self) -> int:
        """Largest produce request or partition fetch: two records at the limit, at least 1 MiB."""
        return max(self.max_record_bytes * 2, 1_048_576)

    @property
    def outbound_record_bytes(self) -> int:
        """Largest record the worker writes whole: the inbound limit, at least 1 MiB (Kafka's
        default ``message.max.bytes``), so a request refused for its size is still stored whole."""
        return max(self.max_record_bytes, 1_048_576)

    @property
    def bootstrap_servers(self) -> str:
        """``host:port[,host:port]`` without a ``kafka://`` scheme."""
        return ",".join(s.strip().removeprefix("kafka://") for s in self.broker.split(","))

    def rate_limit_overrides(self) -> dict[str, RateLimit]:
        """``PACKETFLOW_RATE_LIMITS="cap=10/1s,other=100/1m"`` as a mapping."""
        out: dict[str, RateLimit] = {}
        for item in filter(None, (p.strip() for p in self.rate_limits.split(","))):
            cap, sep, spec = item.partition("=")
            try:
                if not sep or not cap.strip():
                    raise ValueError("expected CAPABILITY=REQUESTS/SECONDS")
                out[cap.strip()] = RateLimit.parse(spec)
            except ValueError as exc:
                raise SettingsError(f"PACKETFLOW_RATE_LIMITS item {item!r}: {exc}") from None
        return out

    def authenticator(self) -> Authenticator:
        """The authenticator these settings describe."""
        jwt = None
        if self.jwt_algorithms:
            public_key = self.jwt_public_key
            if public_key.startswith("@"):
                public_key = Path(public_key[1:]).read_text()
            try:
                jwt = JwtVerifier(
                    JwtSettings(
                        algorithms=tuple(a.strip() for a in self.jwt_algorithms.split(",")),
                        secret=self.jwt_secret or None,
                        public_key=public_key or None,
                        issuer=self.jwt_issuer or None,
                        audience=self.jwt_audience or None,
                        leeway_s=float(self.jwt_leeway),
                    )
                )
            except ValueError as exc:
                raise SettingsError(f"PACKETFLOW_JWT_*: {exc}") from None
        biscuit = BiscuitVerifier(self.biscuit_public_key) if self.biscuit_public_key else None
        try:
            grants = tuple(
                parse_permission(g.strip()) for g in self.anonymous_grants.split(",") if g.strip()
            )
        except ValueError as exc:
            raise SettingsError(f"PACKETFLOW_ANONYMOUS_GRANTS: {exc}") from None
        return Authenticator(
            required=self.auth == "required", jwt=jwt, biscuit=biscuit, anonymous_grants=grants
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``PACKETFLOW_<FIELD>`` for every field; unset ones keep defaults."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"PACKETFLOW_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.name, f.type, raw)
        return cls(**values)  # type: ignore[arg-type]


_ZERO_OK = frozenset(
    {
        "web_port",
        "jwt_leeway",
        "standby_replicas",
        "hop_linger_ms",
        "hop_batch_wait_ms",
        "fetch_wait_ms",
        "reactor_cache_bytes",
    }
)
"""Integer settings that may be 0 (the others must be at least 1)."""


def _parse(name: str, kind: object, raw: str) -> object:
    var = f"PACKETFLOW_{name.upper()}"
    if kind in (int, "int"):
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{var}={raw!r}: expected an integer") from None
        least = 0 if name in _ZERO_OK else 1
        if value < least:
            raise SettingsError(f"{var}={raw!r}: must be at least {least}")
        if name == "web_port" and value > 65535:
            raise SettingsError(f"{var}={raw!r}: not a TCP port")
        return value
    if kind in ("tuple[str, ...]",):
        items = tuple(part.strip() for part in raw.split(",") if part.strip())
        if not items:
            raise SettingsError(f"{var}={raw!r}: expected comma-separated module names")
        return items
    choices = {
        "encoding": ("json", "avro"),
        "auth": ("required", "optional"),
        "store": ("rocksdb", "memory"),
        "guarantee": ("at_least_once", "exactly_once"),
    }.get(name)
    if choices is not None and raw not in choices:
        raise SettingsError(f"{var}={raw!r}: expected one of {choices}")
    return raw
