"""Idle RSS of a worker serving the shipped capabilities, and one serving 1,000.

Both also serve the benchmark's two capabilities, which the readiness probe
calls. The RSS is read ``plan.settle_s`` after the first answer.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from benchmarks.contenders import Plan, start_worker
from benchmarks.kafka import create_topics
from benchmarks.measure import wait_ready
from benchmarks.progress import Progress
from benchmarks.workload import TopicSet

__all__ = ["CATALOGUES", "idle_rss"]

CATALOGUES = {
    "streams/ capabilities": "streams,benchmarks.caps",
    "1,000 capabilities": "benchmarks.caps,benchmarks.many_caps",
}


async def idle_rss(
    broker: str, prefix: str, plan: Plan, workdir: Path, progress: Progress
) -> dict[str, Any]:
    """``{catalogue: {"modules", "idle_rss_mb", "ready_s"}}`` for each of :data:`CATALOGUES`,
    the workers started side by side (an idle worker's RSS does not depend on its neighbour)."""
    progress.log(f"idle RSS: {', '.join(CATALOGUES)}")
    found = await asyncio.gather(
        *(
            _idle(broker, TopicSet(f"{prefix}-idle{n}", plan.partitions), modules, plan, workdir)
            for n, modules in enumerate(CATALOGUES.values())
        )
    )
    return dict(zip(CATALOGUES, found, strict=True))


async def _idle(
    broker: str, topics: TopicSet, modules: str, plan: Plan, workdir: Path
) -> dict[str, Any]:
    await create_topics(broker, [topics.requests, topics.responses], plan.partitions)
    worker = start_worker(
        "packetflow_stateless", topics, broker, workdir, PACKETFLOW_CAPABILITIES=modules
    )
    try:
        ready = await wait_ready(broker, topics, worker.alive)
        await asyncio.sleep(plan.settle_s)
        return {"modules": modules, "idle_rss_mb": worker.rss_mb(), "ready_s": ready}
    except Exception as exc:
        return {"modules": modules, "error": f"{type(exc).__name__}: {exc}"[:500]}
    finally:
        await asyncio.to_thread(worker.stop)
