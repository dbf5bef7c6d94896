"""Prometheus metrics, with the seed's names, in a registry of their own.

The counters and the histogram touched for every request are plain numbers
updated on the worker's event loop and turned into Prometheus samples when
``/metrics`` is scraped (on the same loop): prometheus_client takes a lock on
every increment, which cost more than the rest of the metrics work together.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric as Family

from packetflow.effects import Metric

__all__ = ["LoopCounter", "LoopHistogram", "Metrics"]


class LoopCounter:
    """A labelled counter for one event loop: no lock, read when scraped."""

    def __init__(self, name: str, documentation: str, labels: Sequence[str]) -> None:
        self.name, self.documentation, self.labels = name, documentation, list(labels)
        self.values: dict[tuple[str, ...], float] = {}

    def inc(self, *labels: str) -> None:
        """Add one to the series of ``labels``."""
        self.values[labels] = self.values.get(labels, 0.0) + 1.0

    def collect(self) -> Iterator[Family]:
        """The samples, ``<name>_total`` per label set."""
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        for labels, value in self.values.items():
            family.add_metric(list(labels), value)
        yield family


class LoopHistogram:
    """A labelled histogram for one event loop: no lock, read when scraped."""

    def __init__(
        self, name: str, documentation: str, labels: Sequence[str], buckets: Sequence[float]
    ) -> None:
        self.name, self.documentation, self.labels = name, documentation, list(labels)
        self.bounds = [*sorted(buckets), math.inf]
        self.counts: dict[tuple[str, ...], list[int]] = {}  # per bucket, not cumulative
        self.sums: dict[tuple[str, ...], float] = {}

    def observe(self, value: float, *labels: str) -> None:
        """Count ``value`` in the first bucket whose upper bound holds it."""
        counts = self.counts.get(labels)
        if counts is None:
            counts = self.counts[labels] = [0] * len(self.bounds)
        counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sums[labels] = self.sums.get(labels, 0.0) + value

    def collect(self) -> Iterator[Family]:
        """The samples: cumulative ``_bucket`` per bound, ``_count`` and ``_sum``."""
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labels)
        for labels, counts in self.counts.items():
            cumulative, running = [], 0
            for bound, count in zip(self.bounds, counts, strict=True):
                running += count
                cumulative.append(
                    ("+Inf" if bound == math.inf else repr(float(bound)), float(running))
                )
            family.add_metric(list(labels), cumulative, sum_value=self.sums[labels])
        yield family


class Metrics:
    """The worker's metrics; one instance per processor, rendered at ``/metrics``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.executions = LoopCounter(
            "packetflow_capability_execution_count",
            "Capability executions that returned a response.",
            ["capability"],
        )
        self.duration = LoopHistogram(
            "packetflow_capability_execution_duration_seconds",
            "Time spent in execute, per capability.",
            ["capability"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
        )
        self.errors = LoopCounter(
            "packetflow_capability_execution_error",
            "Requests answered with a capability_error, per capability and error type.",
            ["capability", "type"],
        )
        self.registered = Gauge(
            "packetflow_registry_capabilities_registered",
            "Capabilities in the worker's registry.",
            registry=r,
        )
        self.messages = LoopCounter(
            "packetflow_protocol_messages_processed",
            "Records consumed from the requests topic, by outcome.",
            ["outcome"],
        )
        for loop_metric in (self.executions, self.duration, self.errors, self.messages):
            r.register(loop_metric)  # a collector: collect() is all the registry needs
        self.batch_size = Histogram(
            "packetflow_ingress_batch_records",
            "Records per batch taken from the requests topic.",
            registry=r,
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000),
        )
        self.rereads = Counter(
            "packetflow_rereads",
            "Times a partition of an internal topic was sought back to read again records "
            "Faust's stream skipped (faust/patches/rereads.py).",
            ["topic"],
            registry=r,
        )
        self._business: dict[tuple[str, str], LoopCounter | LoopHistogram] = {}

    def outcome(self, outcome: str) -> None:
        """Count one record of the requests topic by how it ended."""
        self.messages.inc(outcome)

    def executed(self, capability: str, seconds: float | None = None) -> None:
        """Count one execution of ``capability`` (and its duration, when given)."""
        self.executions.inc(capability)
        if seconds is not None:
            self.duration.observe(seconds, capability)

    def failed(self, capability: str, error_type: str) -> None:
        """Count one request answered with an error."""
        self.errors.inc(capability, error_type)

    def business(self, spec: Metric) -> LoopCounter | LoopHistogram:
        """The counter or histogram (seconds) behind a capability's ``Metric`` effect."""
        key = (spec.type, spec.name)
        metric = self._business.get(key)
        if metric is None:
            name = f"packetflow_business_{spec.name}"
            doc = f"Business metric {spec.name!r} declared by capabilities."
            if spec.type == "counter":
                metric = LoopCounter(name, doc, ["capability"])
            else:
                metric = LoopHistogram(
                    f"{name}_seconds", doc, ["capability"], Histogram.DEFAULT_BUCKETS
                )
            self.registry.register(metric)
            self._business[key] = metric
        return metric

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
