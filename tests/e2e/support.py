"""Helpers for end-to-end tests: a real worker process, and reading topics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from ops.ports import free_ports
from packetflow.client import CallTimeout, Client
from packetflow.topics import TopicNames

E2E_DIR = Path(__file__).resolve().parent
FAUST = Path(sys.executable).parent / "faust"
READY_TIMEOUT_S = 120.0

PREFIXES: set[str] = set()
"""The topic prefix of every worker this session started: its topics are deleted at the end."""


@dataclass
class Worker:
    """A worker process and how to reach it."""

    proc: subprocess.Popen[bytes]
    broker: str
    topics: TopicNames
    web_port: int
    log: Path
    env: dict[str, str]

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def client(self) -> Client:
        return Client(self.broker, topics=self.topics)

    def cli_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PACKETFLOW_BROKER": self.broker,
            "PACKETFLOW_TOPIC_PREFIX": self.topics.prefix,
        }

    def restart(self) -> None:
        """Start the same worker again: same environment, data directory and web port."""
        self.proc = _spawn(self.env, self.log, self.web_port)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no commit, no goodbye to the group."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_worker(broker: str, workdir: Path, **extra_env: str) -> Worker:
    """Start ``faust -A packetflow worker`` with a fresh topic prefix (not yet ready)."""
    prefix = extra_env.get("PACKETFLOW_TOPIC_PREFIX") or f"e2e-{uuid.uuid4().hex[:8]}"
    PREFIXES.add(prefix)
    port = free_ports()
    env = {
        **os.environ,
        "PACKETFLOW_BROKER": broker,
        "PACKETFLOW_TOPIC_PREFIX": prefix,
        "PACKETFLOW_APP_ID": prefix,
        "PACKETFLOW_CAPABILITIES": "streams,e2e_caps",
        "PACKETFLOW_PARTITIONS": "4",
        "PACKETFLOW_AUTH": "optional",
        "PACKETFLOW_ANONYMOUS_GRANTS": "counter.basic,file.write:/tmp/*",
        "PACKETFLOW_WEB_HOST": "127.0.0.1",
        "PACKETFLOW_WEB_PORT": str(port),
        "PACKETFLOW_DATA_DIR": str(workdir / "data"),
        "PYTHONPATH": os.pathsep.join([str(E2E_DIR), os.environ.get("PYTHONPATH", "")]),
        **extra_env,
    }
    log = workdir / "worker.log"
    return Worker(_spawn(env, log, port), broker, TopicNames(prefix), port, log, env)


def _spawn(env: dict[str, str], log: Path, port: int) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(FAUST), "-A", "packetflow", "worker", "-l", "info", "--web-port", str(port)],
            cwd=log.parent,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


class WorkerNotReady(AssertionError):
    """A worker exited or did not answer a heartbeat in time."""


@contextlib.asynccontextmanager
async def running_group(
    broker: str, workdirs: list[Path], **env: str
) -> AsyncIterator[list[Worker]]:
    """Workers of one group (one per work dir, sharing ``env``), ready, stopped at the end."""
    prefix = env.get("PACKETFLOW_TOPIC_PREFIX") or f"group-{uuid.uuid4().hex[:8]}"
    env = {"PACKETFLOW_TOPIC_PREFIX": prefix, "PACKETFLOW_APP_ID": prefix, **env}
    workers: list[Worker] = []
    try:
        for n, workdir in enumerate(workdirs):
            workers.append(start_worker(broker, workdir, PACKETFLOW_WORKER_ID=f"w{n}", **env))
        for w in workers:
            await wait_ready(w)
        yield workers
    finally:
        for w in workers:
            w.stop()


async def produce(
    worker: Worker,
    value: bytes | None,
    key: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    """Produce one record to the worker's requests topic, as any Kafka client would."""
    producer = AIOKafkaProducer(bootstrap_servers=worker.broker)
    await producer.start()
    try:
        await producer.send_and_wait(worker.topics.requests, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def wait_ready(worker: Worker) -> None:
    """Until a heartbeat round trip succeeds: the worker consumes and answers.

    ``/health`` first: the worker has then created its topics, so the client's
    first request cannot have the broker auto-create them with one partition.
    """
    await wait_healthy(worker)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_S
    async with Client(worker.broker, topics=worker.topics, discover_timeout=READY_TIMEOUT_S) as c:
        while True:
            if worker.proc.poll() is not None:
                code = worker.proc.returncode
                raise WorkerNotReady(f"worker exited ({code}):\n{worker.log_tail()}")
            try:
                await c.ping(timeout=2.0)
                return
            except CallTimeout:
                if loop.time() > deadline:
                    tail = worker.log_tail()
                    raise WorkerNotReady(f"not ready in {READY_TIMEOUT_S}s:\n{tail}") from None


async def wait_healthy(worker: Worker) -> None:
    """Until ``/health`` answers 200 with partitions assigned (a heartbeat may queue behind a
    backlog, so under load this is the readiness signal)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_S
    url = f"http://127.0.0.1:{worker.web_port}/health"
    while True:
        if worker.proc.poll() is not None:
            code = worker.proc.returncode
            raise WorkerNotReady(f"worker exited ({code}):\n{worker.log_tail()}")
        try:
            body = await asyncio.to_thread(_get_json, url)
            if body.get("status") == "healthy" and body.get("assignment"):
                return
        except (OSError, ValueError):
            pass  # not listening yet, or 503 while starting
        if loop.time() > deadline:
            raise WorkerNotReady(f"not healthy in {READY_TIMEOUT_S}s:\n{worker.log_tail()}")
        await asyncio.sleep(0.2)  # poll interval of the readiness check


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return dict(json.loads(resp.read()))


async def collect(
    broker: str,
    topic: str,
    match: Callable[[Any], bool],
    count: int,
    timeout: float = 30.0,
) -> list[Any]:
    """Read ``topic`` from the beginning until ``count`` records match (raw records)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=broker, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    found: list[Any] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found) < count and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            found.extend(m for ms in batches.values() for m in ms if match(m))
    finally:
        await consumer.stop()
    return found


def json_of(message: Any) -> Any:
    """A consumed record's value as JSON (None when it is not JSON)."""
    try:
        return json.loads(message.value)
    except (ValueError, TypeError):
        return None


def field_is(name: str, value: Any) -> Callable[[Any], bool]:
    """A matcher: the record's JSON has ``name == value``."""

    def match(message: Any) -> bool:
        doc = json_of(message)
        return isinstance(doc, dict) and doc.get(name) == value

    return match


async def committed_records(broker: str, topic: str, partitions: int) -> tuple[list[Any], int]:
    """Every record of ``topic`` a read_committed reader sees now, to its last stable offset,
    and the offsets those take in all (commit markers take one each)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker, enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)  # read_committed: the last stable offsets
        found: list[Any] = []
        while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
            for messages in (await consumer.getmany(timeout_ms=1000)).values():
                found.extend(messages)
        return found, sum(ends.values())
    finally:
        await consumer.stop()
