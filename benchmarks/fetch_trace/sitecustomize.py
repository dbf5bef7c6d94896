"""Diagnostic: how a worker's aiokafka consumers fetch its reactor topics.

Put this directory first on ``PYTHONPATH`` and set ``PF_FETCH_TRACE=<file>``
in a worker's environment (``python -m benchmarks.steady ... --variant
trace:PF_FETCH_TRACE=/tmp/fetch.txt,PYTHONPATH=$PWD/benchmarks/fetch_trace:$PWD``:
the worker runs in its own directory, so the paths must be absolute).
Every 1.5 s a line goes to the file with, for fetches that include a reactor
topic: their round trip, the gap between one fetch's end and the next one's
start, the age of the records the consumer drains (now minus the record's
timestamp), and which partitions held the fetcher back (aiokafka sends no
fetch to a broker while a partition it fetched from it is not drained, for up
to ``prefetch_backoff``). It wraps private aiokafka methods: for measuring,
never for production.
"""

from __future__ import annotations

import collections
import os
import time
from typing import Any

PATH = os.environ.get("PF_FETCH_TRACE")
EVERY_S = 1.5


def _kind(topic: str) -> str:
    if "changelog" in topic:
        return "changelog"
    return "reactor" if "reactor" in topic else "other"


def _install(path: str) -> None:
    from aiokafka.consumer import fetcher

    out = open(path, "a")  # noqa: SIM115 - open for the life of the process
    figures: dict[str, list[float]] = collections.defaultdict(list)
    last = [time.time()]

    def report() -> None:
        now = time.time()
        if now - last[0] < EVERY_S:
            return
        parts = []
        for name, values in sorted(figures.items()):
            values.sort()
            parts.append(
                f"{name}: n={len(values)} p50={values[len(values) // 2]:.1f} max={values[-1]:.1f}"
            )
        out.write(f"{now:.1f} " + " | ".join(parts) + "\n")
        out.flush()
        figures.clear()
        last[0] = now

    cls: Any = fetcher.Fetcher
    proc_fetch, fetched, actions = (
        cls._proc_fetch_request,
        cls.fetched_records,
        cls._get_actions_per_node,
    )

    async def proc_fetch_request(self: Any, assignment: Any, node_id: Any, request: Any) -> Any:
        started = time.monotonic()
        result = await proc_fetch(self, assignment, node_id, request)
        if any("reactor" in topic for topic, _ in request._topics):
            figures["fetch_rtt_ms"].append((time.monotonic() - started) * 1000)
            previous = getattr(self, "_trace_fetch_end", None)
            if previous is not None:
                figures["gap_between_fetches_ms"].append((started - previous) * 1000)
            self._trace_fetch_end = time.monotonic()
        return result

    async def fetched_records(
        self: Any, partitions: Any, timeout: float = 0, max_records: int | None = None
    ) -> Any:
        drained = await fetched(self, partitions, timeout, max_records)
        now_ms = time.time() * 1000
        for tp, records in drained.items():
            if records and "reactor" in tp.topic and "changelog" not in tp.topic:
                figures["age_at_drain_ms"].append(now_ms - records[0].timestamp)
        report()
        return drained

    def get_actions_per_node(self: Any, assignment: Any) -> Any:
        result = actions(self, assignment)
        if any("reactor" in tp.topic for tp in assignment.tps):
            kinds = {
                _kind(tp.topic)
                for tp, held in list(self._records.items())
                if getattr(held, "calculate_backoff", lambda: 0)() > 0
            }
            if kinds:
                figures["held_back_by:" + "+".join(sorted(kinds))].append(0.0)
        return result

    cls._proc_fetch_request = proc_fetch_request
    cls.fetched_records = fetched_records
    cls._get_actions_per_node = get_actions_per_node


if PATH:
    _install(PATH)
