"""The settings groups: each field's variable, type, bounds, default and description.

``docs/configuration.md`` is generated from these definitions
(``python -m packetflow.settings.docs``): describe a field here, once.
"""

from __future__ import annotations

import os
import socket
from typing import Literal

from pydantic import Field

from packetflow.settings.base import Group, Items
from packetflow.topics import TopicNames

__all__ = [
    "AuthSettings",
    "IngressSettings",
    "KafkaSettings",
    "ReactorSettings",
    "TuningSettings",
    "WebSettings",
]

KAFKA_MESSAGE_MAX_BYTES = 1_048_576
"""Kafka's default ``message.max.bytes``: the smallest record limit a broker may have."""


def _default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class KafkaSettings(Group):
    """The broker, the topics and consumer group, and the worker's identity on them."""

    broker: str = Field(
        "127.0.0.1:9092",
        validation_alias="PACKETFLOW_BROKER",
        description="bootstrap servers (`host:port[,…]`, `kafka://` accepted); the CLI reads it"
        " too",
    )
    app_id: str = Field(
        "packetflow",
        validation_alias="PACKETFLOW_APP_ID",
        description="Faust app id = consumer group of the internal topics; the requests topic is"
        " read by group `<app id>.requests`. Workers with the same id share the partitions",
    )
    topic_prefix: str = Field(
        "packetflow",
        validation_alias="PACKETFLOW_TOPIC_PREFIX",
        description="topics are `<prefix>.requests`, `.responses`, `.errors`, `.effects`,"
        " `.audit`, `.dlq`, `.registry`; the CLI reads it too",
    )
    partitions: int = Field(
        8,
        ge=1,
        validation_alias="PACKETFLOW_PARTITIONS",
        description="partitions of the topics the worker creates (all but the registry)",
    )
    replication: int = Field(
        1,
        ge=1,
        validation_alias="PACKETFLOW_REPLICATION",
        description="replication factor of created topics",
    )
    session_timeout: int = Field(
        30,
        ge=1,
        validation_alias="PACKETFLOW_SESSION_TIMEOUT",
        description="consumer group session timeout (s): how soon a dead worker's partitions move",
    )
    guarantee: Literal["at_least_once", "exactly_once"] = Field(
        "at_least_once",
        validation_alias="PACKETFLOW_GUARANTEE",
        description="`exactly_once`: answers, effects, audit records, dead letters and hops are"
        " written in Kafka transactions with the offsets they answer (see *Exactly once and"
        " worker ids* below)",
    )
    worker_id: str = Field(
        default_factory=_default_worker_id,
        validation_alias="PACKETFLOW_WORKER_ID",
        description="the worker's name in answers, audit and heartbeats, and in its"
        " transactional ids: give each worker its own, stable across restarts (see below)",
        json_schema_extra={"shown_default": "<host>-<pid>"},
    )
    schema_registry_url: str | None = Field(
        None,
        validation_alias="PACKETFLOW_SCHEMA_REGISTRY_URL",
        description="a Confluent Schema Registry to register the Avro schemas with and resolve"
        " writer ids from; unset: local ids",
    )

    @property
    def topics(self) -> TopicNames:
        """Topic names under :attr:`topic_prefix`."""
        return TopicNames(self.topic_prefix)

    @property
    def exactly_once(self) -> bool:
        """Whether answers and offsets are written in Kafka transactions."""
        return self.guarantee == "exactly_once"

    @property
    def heartbeat_interval(self) -> int:
        """Seconds between consumer heartbeats: a tenth of the session timeout, at least 1."""
        return max(1, self.session_timeout // 10)

    @property
    def bootstrap_servers(self) -> str:
        """``host:port[,host:port]`` without a ``kafka://`` scheme."""
        return ",".join(s.strip().removeprefix("kafka://") for s in self.broker.split(","))


class IngressSettings(Group):
    """The request loop: how many requests it takes and runs at once, what it accepts."""

    concurrency: int = Field(
        8,
        ge=1,
        validation_alias="PACKETFLOW_CONCURRENCY",
        description="requests executed at once: while one waits on I/O the next starts"
        " (a partition's order is kept only by reactors)",
    )
    batch: int = Field(
        1000,
        ge=1,
        validation_alias="PACKETFLOW_BATCH",
        description="most requests taken from the requests topic per batch (the requests of at"
        " most two full batches await acknowledgement: backpressure)",
    )
    max_record_bytes: int = Field(
        1_048_576,
        ge=1,
        validation_alias="PACKETFLOW_MAX_RECORD_BYTES",
        description="larger requests are dead-lettered as `payload_too_large`",
    )
    max_payload_depth: int = Field(
        32,
        ge=1,
        validation_alias="PACKETFLOW_MAX_PAYLOAD_DEPTH",
        description="nesting depth of payload and context",
    )
    max_payload_width: int = Field(
        10_000,
        ge=1,
        validation_alias="PACKETFLOW_MAX_PAYLOAD_WIDTH",
        description="items per container of payload and context",
    )
    encoding: Literal["json", "avro"] = Field(
        "json",
        validation_alias="PACKETFLOW_ENCODING",
        description="encoding of effect and audit records; answers use the request's",
    )

    @property
    def transfer_bytes(self) -> int:
        """Largest produce request or partition fetch: two records at the limit, at least 1 MiB."""
        return max(self.max_record_bytes * 2, KAFKA_MESSAGE_MAX_BYTES)

    @property
    def outbound_record_bytes(self) -> int:
        """Largest record the worker writes whole: the inbound limit, at least Kafka's default
        ``message.max.bytes``, so a request refused for its size is still stored whole."""
        return max(self.max_record_bytes, KAFKA_MESSAGE_MAX_BYTES)


class ReactorSettings(Group):
    """Reactors and the tables they (and rate limits) keep."""

    batch: int = Field(
        200,
        ge=1,
        validation_alias="PACKETFLOW_REACTOR_BATCH",
        description="reactor batch size (records of the reactor topic: hops or bundles)",
    )
    dedup_window: int = Field(
        128,
        ge=1,
        validation_alias="PACKETFLOW_REACTOR_DEDUP_WINDOW",
        description="applied request ids remembered per key",
    )
    cache_bytes: int = Field(
        2_000_000,
        ge=0,
        validation_alias="PACKETFLOW_REACTOR_CACHE_BYTES",
        description="encoded size of the state records a reactor keeps decoded, entry by entry,"
        " for recently read keys (about five times as much memory); `0` decodes and encodes"
        " every record whole ([docs/state.md](state.md#how-a-keys-record-is-stored))",
    )
    store: Literal["rocksdb", "memory"] = Field(
        "rocksdb",
        validation_alias="PACKETFLOW_STORE",
        description="table store of reactors and rate limits",
    )
    standby_replicas: int = Field(
        1,
        ge=0,
        validation_alias="PACKETFLOW_STANDBY_REPLICAS",
        description="standby copies of each table partition on other workers",
    )
    data_dir: str = Field(
        "packetflow-data",
        validation_alias="PACKETFLOW_DATA_DIR",
        description="Faust's data directory (table state)",
    )


class AuthSettings(Group):
    """Who may call: credentials, the anonymous policy and rate limits (see docs/security.md).

    Parsed into verifiers by :func:`packetflow.security.config.authenticator_from`.
    """

    mode: Literal["required", "optional"] = Field(
        "required",
        validation_alias="PACKETFLOW_AUTH",
        description="`required`: refuse calls without a credential; `optional`: run them"
        " anonymously (`make run` and docker-compose set `optional`)",
    )
    anonymous_grants: Items = Field(
        (),
        validation_alias="PACKETFLOW_ANONYMOUS_GRANTS",
        description="permissions of anonymous callers, e.g. `counter.basic,file.read:/public/*`",
    )
    jwt_algorithms: Items = Field(
        (),
        validation_alias="PACKETFLOW_JWT_ALGORITHMS",
        description="accepted JWT algorithms, e.g. `HS256` or `RS256,ES256`; unset: JWTs are"
        " refused ([docs/security.md](security.md))",
    )
    jwt_secret: str | None = Field(
        None,
        validation_alias="PACKETFLOW_JWT_SECRET",
        description="the HMAC secret of `HS*` algorithms",
    )
    jwt_public_key: str | None = Field(
        None,
        validation_alias="PACKETFLOW_JWT_PUBLIC_KEY",
        description="the PEM public key of `RS*`/`PS*`/`ES*` algorithms, or `@path` of a file",
    )
    jwt_issuer: str | None = Field(
        None,
        validation_alias="PACKETFLOW_JWT_ISSUER",
        description="required `iss` claim; unset: not checked",
    )
    jwt_audience: str | None = Field(
        None,
        validation_alias="PACKETFLOW_JWT_AUDIENCE",
        description="required `aud` claim; unset: not checked",
    )
    jwt_leeway: int = Field(
        30,
        ge=0,
        validation_alias="PACKETFLOW_JWT_LEEWAY",
        description="seconds of clock skew allowed on `exp` and `nbf`",
    )
    biscuit_public_key: str | None = Field(
        None,
        validation_alias="PACKETFLOW_BISCUIT_PUBLIC_KEY",
        description="root Ed25519 public key (hex) of attenuable Biscuit tokens; unset:"
        " Biscuits are refused",
    )
    rate_limits: Items = Field(
        (),
        validation_alias="PACKETFLOW_RATE_LIMITS",
        description="overrides of the declared rate limits, e.g."
        " `send_notification=10/1s,counter.increment=100/1m`",
    )


class WebSettings(Group):
    """The worker's HTTP server: ``/metrics``, ``/health`` and state queries."""

    port: int = Field(
        6066,
        ge=0,
        le=65535,
        validation_alias="PACKETFLOW_WEB_PORT",
        description="TCP port of the web server (`0`: any free port)",
    )
    bind: str = Field(
        "0.0.0.0",
        validation_alias="PACKETFLOW_WEB_BIND",
        description="address the web server listens on",
    )
    host: str | None = Field(
        None,
        validation_alias="PACKETFLOW_WEB_HOST",
        description="how other workers reach this one (state queries are forwarded to the"
        " key's owner); unset: the host name",
    )


class TuningSettings(Group):
    """Advanced: buffers and waits of the request loop and of Faust. Their defaults were
    measured; change them only when a benchmark says so (see *Tuning knobs* below).
    """

    producer_batch_bytes: int = Field(
        524_288,
        ge=1,
        validation_alias="PACKETFLOW_PRODUCER_BATCH_BYTES",
        description="producer batch size per partition (a fuller batch is queued and a new one"
        " started; aiokafka stalls Faust's sends while a full batch waits)",
    )
    stream_buffer: int = Field(
        128,
        ge=1,
        validation_alias="PACKETFLOW_STREAM_BUFFER",
        description="records Faust buffers per agent of the internal topics (reactors, rate"
        " limits); a record can be a bundle of up to 256 KiB, so this bounds a lagging agent's"
        " buffer to 32 MiB",
    )
    hop_bundle: int = Field(
        100,
        ge=1,
        validation_alias="PACKETFLOW_HOP_BUNDLE",
        description="most hops to one partition of an internal topic written as one record (a"
        " bundle, [docs/state.md](state.md#routing-one-writer-per-key)); `1` writes one record"
        " per hop, as workers without bundles read them: set it while such workers still"
        " share the group",
    )
    hop_linger_ms: int = Field(
        0,
        ge=0,
        validation_alias="PACKETFLOW_HOP_LINGER_MS",
        description="how long a bundle stays open for the hops of later batches, after its first"
        " hop (as Kafka's `linger.ms`); `0`: a bundle holds one batch's hops, and bundles grow"
        " with the load as batches do. Adds up to this much to a reactor call's latency",
    )
    hop_batch_wait_ms: int = Field(
        3,
        ge=0,
        validation_alias="PACKETFLOW_HOP_BATCH_WAIT_MS",
        description="after a batch of 3 or more requests, short of a full batch, that sent any"
        " of them on to a reactor or rate-limited capability, the request loop waits this long"
        " before its next fetch, so batches and hop bundles grow under a steady load on"
        " reactors; light load, a backlog and stateless traffic never wait; `0` turns it off",
    )
    fetch_wait_ms: int = Field(
        0,
        ge=0,
        validation_alias="PACKETFLOW_FETCH_WAIT_MS",
        description="how long the broker may hold a fetch of requests until 64 KiB have gathered"
        " (Kafka's `fetch.max.wait.ms`); `0`: answered as soon as a request is there. Fewer,"
        " larger batches (less CPU) for up to this much added latency, at light load too",
    )
