"""Start a contender's worker process, watch its CPU and memory, run both measurements."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

from benchmarks.caps import ECHO_ID, REACTOR_ID
from benchmarks.kafka import REPO_ROOT, create_topics
from benchmarks.measure import latency_run, produce_backlog, throughput_run, wait_ready
from benchmarks.progress import Progress
from benchmarks.workload import JWT_SECRET, TopicSet
from ops.ports import free_ports

__all__ = ["CONTENDERS", "Plan", "Worker", "run_contender", "start_worker", "topics_to_create"]

BIN = Path(sys.executable).parent
CONTENDERS = {
    "raw_aiokafka": "raw aiokafka",
    "raw_faust": "raw Faust",
    "raw_checked": "raw aiokafka + required work",
    "packetflow_stateless": "PacketFlow stateless",
    "packetflow_reactor": "PacketFlow reactor",
    "packetflow_stateless_eos": "PacketFlow stateless, exactly once",
    "packetflow_reactor_eos": "PacketFlow reactor, exactly once",
}
CAPABILITY = {"packetflow_reactor": REACTOR_ID, "packetflow_reactor_eos": REACTOR_ID}
"""The capability a contender is called with (default: the stateless echo)."""


def topics_to_create(kind: str, topics: TopicSet) -> list[str]:
    """The topics created before contender ``kind`` starts (PacketFlow declares the rest)."""
    extra = [topics.effects, topics.audit] if kind == "raw_checked" else []
    return [topics.requests, topics.responses, *extra]


@dataclass(frozen=True)
class Plan:
    """How much load: the backlog, the warm-up share, the fixed latency rate."""

    requests: int
    warmup_fraction: float
    rates: tuple[float, ...]
    latency_s: float
    latency_warmup_s: float
    partitions: int
    perf_records: int
    stage_records: int
    settle_s: float = 2.0
    overload_s: float = 60.0
    steady_rps: float = 2500.0
    steady_s: float = 12.0
    steady_kinds: tuple[str, ...] = ("packetflow_stateless", "packetflow_reactor")
    """The contenders also measured under a steady offered rate."""


def _command(
    kind: str, topics: TopicSet, broker: str, data: Path
) -> tuple[list[str], dict[str, str]]:
    base = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **topics.env(broker)}
    web = ["--web-port", str(free_ports()), "--web-bind", "127.0.0.1"]
    if kind == "raw_aiokafka":
        return [sys.executable, "-m", "benchmarks.raw_aiokafka"], base
    if kind == "raw_checked":
        return [sys.executable, "-m", "benchmarks.raw_checked"], base
    if kind == "raw_faust":
        env = {**base, "BENCH_DATA_DIR": str(data)}
        return [str(BIN / "faust"), "-A", "benchmarks.raw_faust", "worker", "-l", "warn", *web], env
    env = {
        **base,
        "PACKETFLOW_BROKER": broker,
        "PACKETFLOW_TOPIC_PREFIX": topics.prefix,
        "PACKETFLOW_APP_ID": topics.prefix,
        "PACKETFLOW_CAPABILITIES": "benchmarks.caps",
        "PACKETFLOW_PARTITIONS": str(topics.partitions),
        "PACKETFLOW_DATA_DIR": str(data),
        "PACKETFLOW_AUTH": "required",
        "PACKETFLOW_JWT_ALGORITHMS": "HS256",
        "PACKETFLOW_JWT_SECRET": JWT_SECRET,
        "PACKETFLOW_GUARANTEE": "exactly_once" if kind.endswith("_eos") else "at_least_once",
    }
    return [str(BIN / "faust"), "-A", "packetflow", "worker", "-l", "warn", *web], env


@dataclass
class Worker:
    """A contender process we started; stopped by its pid only."""

    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def cpu(self) -> float:
        """User + system CPU seconds of the process so far."""
        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)

    def rss_mb(self) -> float:
        return float(psutil.Process(self.pid).memory_info().rss) / 2**20

    def peak_rss_mb(self) -> float:
        """The kernel's high-water mark (VmHWM), or the current RSS where there is none."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return self.rss_mb()

    def stop(self, timeout: float = 30) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def start_worker(
    kind: str, topics: TopicSet, broker: str, workdir: Path, **extra_env: str
) -> Worker:
    """Start contender ``kind`` on ``topics`` (its output goes to ``workdir/<prefix>.log``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd, env = _command(kind, topics, broker, workdir / f"{topics.prefix}-data")
    env.update(extra_env)
    log = workdir / f"{topics.prefix}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return Worker(proc, log)


async def run_contender(
    kind: str, broker: str, prefix: str, plan: Plan, workdir: Path, progress: Progress
) -> dict[str, Any]:
    """Latency at a fixed rate (fresh process, idle RSS first), then throughput on a backlog."""
    result: dict[str, Any] = {"loadavg_1m": os.getloadavg()[0]}
    lat_peak = 0.0
    lat_topics = TopicSet(f"{prefix}-{kind}-lat", plan.partitions, CAPABILITY.get(kind, ECHO_ID))
    tp_topics = TopicSet(f"{prefix}-{kind}-tp", plan.partitions, CAPABILITY.get(kind, ECHO_ID))
    both = [*topics_to_create(kind, lat_topics), *topics_to_create(kind, tp_topics)]
    await create_topics(broker, both, plan.partitions)
    worker = start_worker(kind, lat_topics, broker, workdir)
    try:
        result["ready_s"] = await wait_ready(broker, lat_topics, worker.alive)
        progress.log(f"  {kind}: answering after {result['ready_s']:.1f}s")
        await asyncio.sleep(plan.settle_s)
        result["idle_rss_mb"] = worker.rss_mb()
        result["latency"] = [
            await latency_run(
                broker, lat_topics, rate, plan.latency_s, plan.latency_warmup_s, progress, prefix
            )
            for rate, prefix in zip(plan.rates, "abcdefgh", strict=False)
        ]
        lat_peak = worker.peak_rss_mb()
    except Exception as exc:
        raise RuntimeError(f"{kind} (latency run) failed: {exc}\n{worker.tail()}") from exc
    finally:
        worker.stop()
    result["request_bytes"] = await produce_backlog(broker, tp_topics, plan.requests, progress)
    worker = start_worker(kind, tp_topics, broker, workdir)
    try:
        warmup = int(plan.requests * plan.warmup_fraction)
        timeout = 120 + plan.requests / 200
        tp = await throughput_run(
            broker, tp_topics, plan.requests, warmup, worker.cpu, worker.alive, progress, timeout
        )
        tp["peak_rss_mb"] = worker.peak_rss_mb()
        result["throughput"] = tp
    except Exception as exc:
        raise RuntimeError(f"{kind} (throughput run) failed: {exc}\n{worker.tail()}") from exc
    finally:
        worker.stop()
    result["peak_rss_mb"] = max(lat_peak, tp["peak_rss_mb"])
    return result
