"""The lock-free request metrics expose exactly what prometheus_client's own would."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from packetflow.metrics import LoopCounter, LoopHistogram, Metrics

BUCKETS = (0.0005, 0.001, 0.01, 0.1, 1, 10)


def samples(registry: CollectorRegistry) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
    """Every sample but the ``_created`` timestamps (which only prometheus_client's carry)."""
    return {
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for family in registry.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    }


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["echo", "counter.increment"]),
            st.one_of(st.sampled_from(BUCKETS), st.floats(0, 30, allow_nan=False)),
        ),
        max_size=40,
    )
)
def test_histogram_and_counter_match_prometheus_client(calls: list[tuple[str, float]]) -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    hist = LoopHistogram("t_seconds", "doc", ["capability"], BUCKETS)
    count = LoopCounter("t_calls", "doc", ["capability"])
    ours.register(hist)  # type: ignore[arg-type]
    ours.register(count)  # type: ignore[arg-type]
    ref_hist = Histogram("t_seconds", "doc", ["capability"], registry=theirs, buckets=BUCKETS)
    ref_count = Counter("t_calls", "doc", ["capability"], registry=theirs)
    for capability, seconds in calls:
        hist.observe(seconds, capability)
        count.inc(capability)
        ref_hist.labels(capability).observe(seconds)
        ref_count.labels(capability).inc()
    assert samples(ours) == samples(theirs)


def test_the_worker_metrics_render_under_the_documented_names() -> None:
    metrics = Metrics()
    metrics.outcome("ok")
    metrics.outcome("ok")
    metrics.executed("echo", 0.002)
    metrics.failed("echo", "invalid_payload")
    text = metrics.render().decode()
    lines: dict[str, Any] = dict(
        line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    assert lines['packetflow_protocol_messages_processed_total{outcome="ok"}'] == "2.0"
    assert lines['packetflow_capability_execution_count_total{capability="echo"}'] == "1.0"
    assert (
        lines[
            'packetflow_capability_execution_error_total{capability="echo",type="invalid_payload"}'
        ]
        == "1.0"
    )
    bucket = (
        'packetflow_capability_execution_duration_seconds_bucket{capability="echo",le="0.0025"}'
    )
    assert lines[bucket] == "1.0"
    assert "# TYPE packetflow_capability_execution_count_total counter" in text
    assert "# TYPE packetflow_capability_execution_duration_seconds histogram" in text
    assert text == generate_latest(metrics.registry).decode()
