"""Diagnostic: where a reactor hop's time goes inside the worker, from fetch to answers sent.

Put this directory first on ``PYTHONPATH`` and set ``PF_LATENCY_TRACE=<path prefix>`` for the
worker, e.g. through the timeline benchmark::

    .venv/bin/python -m benchmarks.timeline --broker 127.0.0.1:29092 \\
        --variant traced:PF_LATENCY_TRACE=/tmp/lt/hops,PYTHONPATH=$PWD/ops/latency_trace

Each worker appends one JSON line per reactor event to ``<prefix>.<pid>``: the record's
``CreateTime`` (``ts``, ms) and the wall-clock times (s) at which aiokafka sent the fetch
that brought it (``sent``), the fetch's response was parsed (``resp``), aiokafka's
fetcher handed it to Faust's consumer thread (``got``), its batch reached the agent
(``batch``), the agent applied it (``apply``), and the chunk holding its answers began and
ended delivering (``deliver``, ``delivered``: changelog on the broker, answers sent).
``python ops/latency_trace/summary.py <prefix>.*`` prints the stages' percentiles.
It wraps private internals of aiokafka and PacketFlow: for measuring, never for production.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

PATH = os.environ.get("PF_LATENCY_TRACE")


def _install(path: str) -> None:
    from aiokafka.consumer import fetcher

    import packetflow.reactor.agent as agent

    out = open(f"{path}.{os.getpid()}", "a", buffering=1)  # noqa: SIM115 (lives with the process)
    sent_at = threading.local()  # when this thread's fetcher sent its fetch in flight
    fetched: dict[Any, tuple[float, float]] = {}  # tp -> (sent, response) of its last fetch
    got: dict[tuple[str, int, int], tuple[float, float, float]] = {}

    proc = fetcher.Fetcher._proc_fetch_request

    async def traced_proc(self: Any, assignment: Any, node_id: int, request: Any) -> Any:
        sent_at.t = time.time()
        return await proc(self, assignment, node_id, request)

    init = fetcher.FetchResult.__init__

    def traced_init(self: Any, tp: Any, **kwargs: Any) -> None:
        init(self, tp, **kwargs)
        fetched[tp] = (getattr(sent_at, "t", 0.0), time.time())

    getmany = fetcher.Fetcher.fetched_records

    async def traced_getmany(self: Any, *args: Any, **kwargs: Any) -> Any:
        records = await getmany(self, *args, **kwargs)
        now = time.time()
        for tp, batch in records.items():
            sent, resp = fetched.get(tp, (0.0, 0.0))
            for record in batch:
                got[(tp.topic, tp.partition, record.offset)] = (sent, resp, now)
        return records

    answer_batch = agent.answer_batch

    async def traced_answer_batch(events: Any, apply: Any, deliver: Any, *a: Any, **k: Any) -> Any:
        events = list(events)
        start = time.time()
        docs: list[dict[str, Any]] = []
        pending: list[dict[str, Any]] = []

        async def traced_apply(event: Any) -> Any:
            m = event.message
            sent, resp, at = got.pop((m.topic, m.partition, m.offset), (0.0, 0.0, 0.0))
            doc = {"tp": f"{m.topic}[{m.partition}]", "o": m.offset, "ts": m.timestamp * 1000}
            doc.update(sent=sent, resp=resp, got=at, batch=start, apply=time.time(), n=len(events))
            pending.append(doc)
            return await apply(event)

        async def traced_deliver(outputs: Any) -> Any:
            began = time.time()
            result = await deliver(outputs)
            for doc in pending:
                doc.update(deliver=began, delivered=time.time())
            docs.extend(pending)
            pending.clear()
            return result

        try:
            return await answer_batch(events, traced_apply, traced_deliver, *a, **k)
        finally:
            for doc in docs:
                out.write(json.dumps(doc) + "\n")

    fetcher.Fetcher._proc_fetch_request = traced_proc  # type: ignore[method-assign]
    fetcher.FetchResult.__init__ = traced_init  # type: ignore[method-assign]
    fetcher.Fetcher.fetched_records = traced_getmany  # type: ignore[method-assign]
    agent.answer_batch = traced_answer_batch  # type: ignore[assignment]


if PATH:
    _install(PATH)
