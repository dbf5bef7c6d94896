"""Diagnostic: every event an exactly-once agent is given, and every transaction it commits.

Put this directory first on ``PYTHONPATH`` and set ``PF_COMMIT_TRACE=<path prefix>`` for the
workers (the crash test's workers inherit both)::

    PF_COMMIT_TRACE=/tmp/trace/commits PYTHONPATH=$PWD/ops/commit_trace:$PWD \\
        .venv/bin/python ops/crash_test.py --guarantee exactly_once

Each worker process appends JSON lines to ``<prefix>.<pid>``: ``{"ev": [topic, partition,
offset], "gen": ...}`` per event, and per transaction its offsets, the chunk's first
offsets, the partitions owned, the consumer generation before and after, and how it ended.
It wraps PacketFlow's internals: for measuring, never for production.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

PATH = os.environ.get("PF_COMMIT_TRACE")


def _name(tp: Any) -> str:
    return f"{tp.topic}[{tp.partition}]"


def _install(path: str) -> None:
    import packetflow.worker.agent_transactions as at

    out = open(f"{path}.{os.getpid()}", "a", buffering=1)  # noqa: SIM115 (lives with the process)
    admit, commit = at.AgentTransactions.admit, at.AgentTransactions.commit

    async def traced_admit(self: Any, event: Any) -> bool:
        m = event.message
        gen = self._app.consumer_generation_id
        out.write(
            json.dumps({"t": time.time(), "ev": [m.topic, m.partition, m.offset], "gen": gen})
        )
        out.write("\n")
        return await admit(self, event)

    async def traced_commit(self: Any, outputs: Any) -> None:
        doc: dict[str, Any] = {
            "t": time.time(),
            "gen": self._app.consumer_generation_id,
            "offsets": {_name(tp): o for tp, o in self._consumed.items()},
            "first": {_name(tp): o for tp, o in self._continuity.first.items()},
            "owned": sorted(map(_name, self._app.consumer.assignment())),
            "outputs": len(outputs),
        }
        try:
            await commit(self, outputs)
            doc["res"] = "ok"
        except BaseException as exc:
            doc["res"] = repr(exc)[:200]
            raise
        finally:
            doc["dt"] = round(time.time() - doc["t"], 3)
            doc["gen_after"] = self._app.consumer_generation_id
            out.write(json.dumps(doc) + "\n")

    at.AgentTransactions.admit = traced_admit  # type: ignore[method-assign]
    at.AgentTransactions.commit = traced_commit  # type: ignore[method-assign]


if PATH:
    _install(PATH)
