"""Sample the PacketFlow worker with py-spy while it drains a backlog (``--profile``).

The profile is taken in a pass of its own, so the measured figures are not
disturbed by the sampler. py-spy pauses the worker for each sample: read while
it runs (``--nonblocking``), a fifth of a Python 3.11 worker's stacks came back
torn (cut short, or ending in a stale frame of a call already returned), and
were counted in the wrong category. Output: the collapsed stacks (``profile-<kind>.txt``, for
any flame-graph tool) and a summary of where the worker's time goes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.caps import ECHO_ID
from benchmarks.contenders import CAPABILITY, Plan, start_worker
from benchmarks.kafka import create_topics
from benchmarks.measure import Reader, produce_backlog
from benchmarks.progress import Progress
from benchmarks.workload import TopicSet

__all__ = ["profile_worker", "summarise_stacks"]

# requests per profiled second: more than the worker answers, so it never runs dry
BACKLOG_PER_SECOND = {"packetflow_stateless": 30_000, "packetflow_reactor": 15_000}

IDLE = ("select (selectors.py", "EpollSelector.select")
# A busy sample goes to the first category (in this order) found anywhere in its stack;
# needles are substrings of py-spy's "function (file:line)" frames.
CATEGORIES = {
    "authenticate (JWT)": ("Authenticator.authenticate",),
    "decode": ("decode (packetflow/pipeline/decode.py",),
    "check": ("check (packetflow/pipeline/check.py",),
    "execute + capability": ("execute (packetflow/pipeline/execute.py", "benchmarks/caps.py"),
    "react (reactor intent, state read/write, windows)": ("react (packetflow/reactor/step.py",),
    "effects": ("run_effects (packetflow/pipeline/effect.py",),
    "publish (build response/effect/audit records)": ("Publisher.", "Auditor.doc"),
    "rest of Processor.handle (metrics, glue)": ("Processor.",),
    "hand records to the producer (batch writer; Faust's producer on reactor topics)": (
        "BatchWriter.",
        "ProducerSink.send",
    ),
    "aiokafka producer (batches, requests, socket)": ("aiokafka/producer/",),
    "aiokafka consumer (fetch, unpack)": ("aiokafka/consumer/",),
    "logging": ("logging/__init__.py",),
    "request loop (batches, lanes, acks, commits)": ("packetflow/ingress/",),
    "Faust/mode stream, agent, consumer machinery": ("faust/", "mode/"),
    "aiokafka client/conn (other)": ("aiokafka/",),
    "asyncio event loop": ("asyncio/",),
}


def _category(frames: list[str]) -> str:
    for label, needles in CATEGORIES.items():
        if any(n in f for f in frames for n in needles):
            return label
    return "other"


def summarise_stacks(path: Path, top: int = 12) -> dict[str, Any]:
    """Busy samples of the main thread (the event loop) by category (exclusive, see
    CATEGORIES) and the top self-time frames."""
    self_time: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    total = busy = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():  # py-spy read a frame while it changed: a torn line
            continue
        n = int(count)
        frames = [f.strip() for f in stack.split(";")]
        if frames[0].startswith("thread ("):  # recorded with --threads: the event loop's only
            if "MainThread" not in frames[0] or len(frames) < 2:
                continue
            frames = frames[1:]
        total += n
        if any(frames[-1].startswith(i) for i in IDLE):
            continue
        busy += n
        self_time[frames[-1]] += n
        categories[_category(frames)] += n
    return {
        "samples": total,
        "busy_share": busy / total if total else 0.0,
        "busy_by_category": {k: n / busy for k, n in categories.most_common()} if busy else {},
        "top_self": [(f, n / busy) for f, n in self_time.most_common(top)] if busy else [],
    }


async def profile_worker(
    broker: str,
    prefix: str,
    plan: Plan,
    workdir: Path,
    out: Path,
    seconds: int,
    progress: Progress,
    kind: str = "packetflow_stateless",
) -> dict[str, Any]:
    """Drain a backlog with a PacketFlow worker under ``py-spy record`` for ``seconds``."""
    spy = _py_spy()
    if spy is None:
        return {"status": "skipped", "reason": "py-spy is not installed"}
    topics = TopicSet(f"{prefix}-profile-{kind}", plan.partitions, CAPABILITY.get(kind, ECHO_ID))
    await create_topics(broker, [topics.requests, topics.responses], plan.partitions)
    count = max(plan.requests, seconds * BACKLOG_PER_SECOND.get(kind, 2_000))
    await produce_backlog(broker, topics, count, progress)
    worker = start_worker(kind, topics, broker, workdir)
    cmd = [spy, "record", "-p", str(worker.pid), "-d", str(seconds), "-r", "200", "--idle"]
    cmd += ["--threads", "-f", "raw", "-o", str(out)]
    sampler: subprocess.Popen[bytes] | None = None
    seen = 0
    try:
        async with Reader(broker, topics) as reader:
            while seen < count and worker.alive():
                seen += len(await reader.batch(100))
                if seen and sampler is None:  # start-up is not profiled
                    sampler = _start(cmd)
                if sampler is not None and sampler.poll() is not None:
                    break
                progress.update("profiling: responses", seen, count)
        if sampler is not None:
            sampler.wait(timeout=60)
    finally:
        worker.stop()
    if sampler is None or sampler.returncode != 0 or not _recorded(out):
        err = sampler.stderr.read().decode()[-500:] if sampler and sampler.stderr else ""
        return {"status": "failed", "reason": f"py-spy did not record: {err}"}
    return {"status": "ok", "file": out.name, "seconds": seconds, **summarise_stacks(out)}


def _py_spy() -> str | None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return spy if Path(spy).exists() else None


def _start(cmd: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _recorded(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 0
