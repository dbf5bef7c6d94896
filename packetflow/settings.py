"""Worker configuration, read from ``PACKETFLOW_*`` environment variables."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

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
    stream_buffer: int = 1024
    web_port: int = 6066
    web_bind: str = "0.0.0.0"
    data_dir: str = "packetflow-data"
    max_record_bytes: int = 1_048_576
    max_payload_depth: int = 32
    max_payload_width: int = 10_000
    encoding: str = "json"
    worker_id: str = field(default_factory=_default_worker_id)

    @property
    def topics(self) -> TopicNames:
        """Topic names under :attr:`topic_prefix`."""
        return TopicNames(self.topic_prefix)

    @property
    def bootstrap_servers(self) -> str:
        """``host:port[,host:port]`` without a ``kafka://`` scheme."""
        return ",".join(s.removeprefix("kafka://") for s in self.broker.split(","))

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


def _parse(name: str, kind: object, raw: str) -> object:
    var = f"PACKETFLOW_{name.upper()}"
    if kind in (int, "int"):
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{var}={raw!r}: expected an integer") from None
        if value < 1 and name != "web_port":
            raise SettingsError(f"{var}={raw!r}: must be at least 1")
        return value
    if kind in ("tuple[str, ...]",):
        items = tuple(part.strip() for part in raw.split(",") if part.strip())
        if not items:
            raise SettingsError(f"{var}={raw!r}: expected comma-separated module names")
        return items
    if name == "encoding" and raw not in ("json", "avro"):
        raise SettingsError(f"{var}={raw!r}: expected 'json' or 'avro'")
    return raw
