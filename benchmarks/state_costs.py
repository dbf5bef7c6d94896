"""In-process cost of a reactor's state step on a RocksDB table, as a worker runs it.

Three cases of :func:`packetflow.reactor.state.apply` with the benchmark's
reactor: a new key per request (the throughput runs' workload), and requests
cycling through busy keys whose records hold a full request-id log, with
decoded records kept (the default) and without (``PACKETFLOW_REACTOR_CACHE_BYTES=0``).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from types import SimpleNamespace
from typing import Any

import faust

from benchmarks.caps import REACTOR_ID, EchoIn, record
from benchmarks.workload import request_doc
from packetflow.faust.patches import as_current
from packetflow.reactor.changelog import TableStore
from packetflow.reactor.state import apply
from packetflow.settings import ReactorSettings

__all__ = ["state_costs"]

REPEATS = 3


class _Hop:
    """The event a reactor agent applies a hop under (partition 0)."""

    message = SimpleNamespace(partition=0)


def _payloads(count: int, keys: int) -> list[EchoIn]:
    """The payloads of the load generator's requests (:func:`benchmarks.workload.request_doc`)."""
    return [
        EchoIn.model_validate(request_doc(f"r-{i}", i, i, REACTOR_ID, keys)["payload"])
        for i in range(count)
    ]


def _us_per_intent(count: int, keys: int, cache_bytes: int) -> float:
    """Fill the logs with ``count`` intents, then time ``count`` more (µs per intent)."""
    handler = record.reactor
    assert handler is not None
    window = ReactorSettings().dedup_window
    with tempfile.TemporaryDirectory() as datadir:
        app = faust.App("state-costs", broker="kafka://127.0.0.1:1", store="rocksdb://",
                        datadir=datadir)  # fmt: skip
        table = app.Table("reactor-bench_state", default=None, partitions=8, key_type=bytes)
        store = TableStore(table, cache_bytes)
        hop = _Hop()
        as_current(hop)
        payloads = _payloads(2 * count, keys)
        for i, payload in enumerate(payloads[:count]):
            apply(handler, payload, store, f"fill-{i}", window)
            store.take()
        started = time.perf_counter()
        for i, payload in enumerate(payloads[count:]):
            apply(handler, payload, store, f"timed-{i}", window)
            if i % 100 == 99:
                store.take()  # as the agent does once per chunk
        return (time.perf_counter() - started) / count * 1e6


def state_costs(count: int, keys: int = 100) -> dict[str, Any]:
    """µs per intent (median of :data:`REPEATS`) in each case of the module doc."""
    default = ReactorSettings().cache_bytes
    cases = {
        "new key per request": (0, default),
        f"{keys} busy keys": (keys, default),
        f"{keys} busy keys, no decoded records kept": (keys, 0),
    }
    out: dict[str, Any] = {"intents": count}
    for name, (cycle, cache) in cases.items():
        out[name] = statistics.median(_us_per_intent(count, cycle, cache) for _ in range(REPEATS))
    return out
