"""Prometheus metrics, with the seed's names, in a registry of their own."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from packetflow.effects import Metric

__all__ = ["Metrics"]


class Metrics:
    """The worker's metrics; one instance per processor, rendered at ``/metrics``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.executions = Counter(
            "packetflow_capability_execution_count",
            "Capability executions that returned a response.",
            ["capability"],
            registry=r,
        )
        self.duration = Histogram(
            "packetflow_capability_execution_duration_seconds",
            "Time spent in execute, per capability.",
            ["capability"],
            registry=r,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
        )
        self.errors = Counter(
            "packetflow_capability_execution_error",
            "Requests answered with a capability_error, per capability and error type.",
            ["capability", "type"],
            registry=r,
        )
        self.registered = Gauge(
            "packetflow_registry_capabilities_registered",
            "Capabilities in the worker's registry.",
            registry=r,
        )
        self.messages = Counter(
            "packetflow_protocol_messages_processed",
            "Records consumed from the requests topic, by outcome.",
            ["outcome"],
            registry=r,
        )
        self.batch_size = Histogram(
            "packetflow_ingress_batch_records",
            "Records per batch taken from the requests topic.",
            registry=r,
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000),
        )
        self._business: dict[tuple[str, str], Counter | Histogram] = {}
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}  # by metric identity

    def child(self, metric: Counter | Histogram, *labels: str) -> Any:
        """``metric.labels(*labels)``, looked up once (prometheus_client locks on each call)."""
        key = (id(metric), labels)  # every metric lives as long as this registry
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def outcome(self, outcome: str) -> None:
        """Count one record of the requests topic by how it ended."""
        self.child(self.messages, outcome).inc()

    def executed(self, capability: str, seconds: float | None = None) -> None:
        """Count one execution of ``capability`` (and its duration, when given)."""
        self.child(self.executions, capability).inc()
        if seconds is not None:
            self.child(self.duration, capability).observe(seconds)

    def failed(self, capability: str, error_type: str) -> None:
        """Count one request answered with an error."""
        self.child(self.errors, capability, error_type).inc()

    def business(self, spec: Metric) -> Counter | Histogram:
        """The counter or histogram behind a capability's ``Metric`` effect."""
        key = (spec.type, spec.name)
        metric = self._business.get(key)
        if metric is None:
            name = f"packetflow_business_{spec.name}"
            doc = f"Business metric {spec.name!r} declared by capabilities."
            if spec.type == "counter":
                metric = Counter(name, doc, ["capability"], registry=self.registry)
            else:
                metric = Histogram(f"{name}_seconds", doc, ["capability"], registry=self.registry)
            self._business[key] = metric
        return metric

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
