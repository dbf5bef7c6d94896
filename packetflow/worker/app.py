"""Build the Faust app: topics, the request loop, the registry task, the web pages."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from typing import Any

import faust
from aiokafka import TopicPartition
from faust.types import TP
from pydantic_core import to_json

from packetflow.avro import AvroCodec
from packetflow.capability import Capability
from packetflow.discovery import discovery_capability
from packetflow.encoding import Encoder, Encoding
from packetflow.envelope import now_iso
from packetflow.faust.patches import (
    faust_member,
    fetch_gaps,
    install,
    kafka_producer,
    request_rejoin,
)
from packetflow.health import CheckResult, register_check
from packetflow.kafka.committed import committed_offsets
from packetflow.kafka.transactions import Transactions, transactional_producer
from packetflow.metrics import Metrics
from packetflow.pipeline.decode import Limits
from packetflow.pipeline.process import Processor
from packetflow.pipeline.publish import Publisher
from packetflow.pipeline.refused import replacer
from packetflow.ratelimit.agent import limiter_of, wire_limiter
from packetflow.reactor.agent import reactor_runtime, reactors_of, wire_reactors
from packetflow.registry import Registry
from packetflow.schema_registry import SchemaRegistry, SchemaRegistryError
from packetflow.security.config import authenticator_from, rate_limit_overrides
from packetflow.settings import KafkaSettings, Settings, SettingsError, WebSettings
from packetflow.worker.agent_transactions import AgentTransactions
from packetflow.worker.declare import DeclareTopics
from packetflow.worker.halt import halt
from packetflow.worker.holes import Continuity, HoleReader
from packetflow.worker.loader import load_registry
from packetflow.worker.message import kafka_client, partitioner, raw_topic
from packetflow.worker.request_loop import serve_ingress
from packetflow.worker.sink import BatchSink, Resends
from packetflow.worker.web import add_pages

__all__ = ["PacketFlowApp", "create_app"]

log = logging.getLogger("packetflow.worker")


class PacketFlowApp(faust.App):
    """A Faust app that knows the capabilities and settings it serves."""

    packetflow_registry: Registry
    packetflow_settings: Settings
    packetflow_request_consumer: Any = None  # the ingress's aiokafka consumer, once started
    packetflow_topics: list[Any]  # created as soon as the producer runs, before any consumer
    packetflow_resends: Resends  # replacement answers of the agents' sinks, awaited by commits

    async def packetflow_committed(self, tps: list[TP]) -> dict[TP, int | None]:
        """Faust's group's committed offsets of ``tps``, each answered (kafka/committed.py)."""
        settings = self.packetflow_settings
        asked = [TopicPartition(tp.topic, tp.partition) for tp in tps]
        found = await committed_offsets(
            settings.kafka.bootstrap_servers, settings.kafka.app_id, asked
        )
        return {TP(tp.topic, tp.partition): offset for tp, offset in found.items()}

    def assignment(self) -> set[Any]:
        """Every topic-partition this worker consumes: Faust's and the requests topic's."""
        tps = set(self.consumer.assignment())
        if self.packetflow_request_consumer is not None:
            tps |= self.packetflow_request_consumer.assignment()
        return tps


def create_app(
    settings: Settings | None = None, capabilities: Iterable[Capability] | None = None
) -> PacketFlowApp:
    """A Faust app serving ``capabilities`` (default: the configured modules).

    Run it with ``faust -A <module> worker``; ``app.packetflow_registry`` and
    ``app.packetflow_settings`` expose what it serves.
    """
    settings = settings or Settings.from_env()
    registry = (
        Registry(capabilities) if capabilities is not None else load_registry(settings.capabilities)
    )
    app = PacketFlowApp(
        settings.kafka.app_id,
        broker=f"kafka://{settings.kafka.bootstrap_servers}",
        key_serializer="raw",  # table keys are bytes; topics below read raw bytes
        value_serializer="json",  # table values (reactor records, window counts)
        topic_partitions=settings.kafka.partitions,
        topic_replication_factor=settings.kafka.replication,
        topic_disable_leader=True,
        stream_buffer_maxsize=settings.tuning.stream_buffer,
        web_port=settings.web.port,
        web_bind=settings.web.bind,
        datadir=settings.reactors.data_dir,
        producer_max_request_size=settings.ingress.transfer_bytes,
        # aiokafka holds one batch per partition and stalls send() while a full one
        # waits for the single request in flight: large batches keep the loop busy
        producer_max_batch_size=settings.tuning.producer_batch_bytes,
        store="rocksdb://" if settings.reactors.store == "rocksdb" else "memory://",
        table_standby_replicas=settings.reactors.standby_replicas,
        broker_session_timeout=settings.kafka.session_timeout,
        broker_heartbeat_interval=settings.kafka.heartbeat_interval,
        **_web_host(settings.web),
    )
    registry.register(discovery_capability(registry))
    overrides = rate_limit_overrides(settings.auth)
    limiter = limiter_of(app, settings, registry, overrides)
    reactors = reactors_of(registry)
    runtime, stores = reactor_runtime(app, settings, reactors)
    metrics = Metrics()
    codec = _avro_codec(settings.kafka)
    publisher = Publisher(
        settings.kafka.topics,
        settings.kafka.worker_id,
        settings.kafka.partitions,
        encoder=Encoder(codec),
        encoding=Encoding(settings.ingress.encoding),
        max_record_bytes=settings.ingress.outbound_record_bytes,
    )
    limits = Limits(
        settings.ingress.max_record_bytes,
        settings.ingress.max_payload_depth,
        settings.ingress.max_payload_width,
    )
    processor = Processor(
        registry,
        publisher,
        metrics,
        limits,
        authenticator=authenticator_from(settings.auth),
        limiter=limiter,
        hop_topic=settings.kafka.topics.limiter if limiter else None,
        rate_limits=overrides,
        reactors=runtime,
        reactor_topic=settings.kafka.topics.reactor if reactors else None,
        codec=codec,
    )
    _wire(app, settings, registry, processor, publisher, metrics)
    app.packetflow_resends = Resends()
    install(  # Faust's private API, in packetflow/faust/patches only
        app,
        exactly_once=settings.kafka.exactly_once,
        resends=app.packetflow_resends,
        metrics=metrics,
        confirm=app.packetflow_committed,  # exactly once: seeks go to stable commits
        # PacketFlow's topics, declared before anything consumes or produces (a client
        # producing early would otherwise have the broker auto-create them)
        after_producer=lambda: DeclareTopics(app, loop=app.loop, beacon=app.beacon),
    )

    def sink() -> BatchSink:
        """An agent's sink (created once the worker runs: it needs the producer)."""
        producer = kafka_producer(app)
        place = partitioner(app)
        resends = app.packetflow_resends
        return BatchSink(
            producer, place, publisher, metrics, halt, resends, settings.tuning.hop_bundle
        )

    def transactions(loop: str) -> AgentTransactions:
        """An agent's transactions (exactly once), for the agent to start."""
        replace = replacer(publisher, metrics)
        place = partitioner(app)
        make = functools.partial(transactional_producer, settings, loop)
        group = functools.partial(faust_member, app, settings.kafka.app_id)  # Faust's group
        tx = Transactions(make, group, place, replace)
        continuity = Continuity(fetch_gaps(app))
        reader = HoleReader(settings.kafka.bootstrap_servers)
        rejoin = functools.partial(request_rejoin, app)
        bundle = settings.tuning.hop_bundle
        return AgentTransactions(app, tx, place, bundle, continuity, reader, rejoin)

    agent_tx = transactions if settings.kafka.exactly_once else None
    app.packetflow_settings = settings
    if limiter is not None:
        app.packetflow_topics.append(wire_limiter(app, settings, processor, sink, agent_tx))
    topics = wire_reactors(app, settings, reactors, stores, processor, sink, agent_tx)
    app.packetflow_topics += topics
    app.packetflow_registry = registry
    return app


def _wire(
    app: PacketFlowApp,
    settings: Settings,
    registry: Registry,
    processor: Processor,
    publisher: Publisher,
    metrics: Metrics,
) -> None:
    names = settings.kafka.topics

    def topic(name: str, **options: Any) -> Any:
        return raw_topic(app, name, settings.kafka.partitions, **options)

    requests = topic(names.requests)
    outputs = [topic(name) for name in names.outputs()]
    registry_topic = raw_topic(app, names.registry, 1, compacting=True)
    app.packetflow_topics = [requests, *outputs, registry_topic]

    @app.task  # type: ignore[untyped-decorator]
    async def serve_requests() -> None:
        await serve_ingress(app, settings, processor, publisher, metrics)

    @app.task  # type: ignore[untyped-decorator]
    async def publish_registry() -> None:
        for description in registry.describe_all():
            value = to_json(
                {
                    "capability": description,
                    "worker": settings.kafka.worker_id,
                    "published_at": now_iso(),
                }
            )
            await app.producer.send(
                names.registry,
                description["id"].encode(),
                value,
                None,
                None,
                [("content-type", b"application/json")],
            )
        log.info("published %d capabilities to %s", len(registry), names.registry)

    add_pages(app, settings, registry, metrics, app.assignment)
    _register_health(app, registry)


def _avro_codec(kafka: KafkaSettings) -> AvroCodec:
    """Local schema ids, or the ids a Schema Registry assigns (registered at start)."""
    if not kafka.schema_registry_url:
        return AvroCodec()
    registry = SchemaRegistry(kafka.schema_registry_url)
    try:
        ids = registry.register_all()
    except SchemaRegistryError as exc:
        variable = KafkaSettings.variable("schema_registry_url")
        raise SettingsError(f"{variable}: {exc}") from None
    log.info("registered %d schemas at %s: %s", len(ids), kafka.schema_registry_url, ids)
    return AvroCodec(ids, registry.writer_schema)


def _web_host(web: WebSettings) -> dict[str, Any]:
    """The host other workers use to reach this one's web server (state queries)."""
    return {"web_host": web.host} if web.host else {}


def _register_health(app: PacketFlowApp, registry: Registry) -> None:
    async def registry_check() -> CheckResult:
        return CheckResult(len(registry) > 0, {"capabilities": len(registry)})

    async def broker_check() -> CheckResult:
        client = kafka_client(app)
        reachable = bool(await client.force_metadata_update())
        brokers = len(client.cluster.brokers())
        assigned = len(app.assignment())
        return CheckResult(
            reachable and brokers > 0,
            {"brokers": brokers, "assigned_partitions": assigned},
        )

    register_check("registry", registry_check)
    register_check("broker", broker_check)
