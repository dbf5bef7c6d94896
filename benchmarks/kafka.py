"""The broker: bring one up with ``ops/kafka``, manage topics, run Kafka's perf tools."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from ops.kafka_ctl import OpsKafka

__all__ = [
    "REPO_ROOT",
    "OpsBroker",
    "create_topics",
    "delete_topics",
    "kafka_libs",
    "kafka_version",
    "run_perf_tools",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
LOG4J = REPO_ROOT / "ops" / "broker" / "log4j2.xml"
DEFAULT_VERSION = "4.1.2"


def kafka_version() -> str:
    """The Kafka version ops/kafka runs (``PACKETFLOW_KAFKA_VERSION`` or its default)."""
    return os.environ.get("PACKETFLOW_KAFKA_VERSION", DEFAULT_VERSION)


def kafka_libs() -> Path | None:
    """The jar directory ops/kafka fetched (it holds kafka-tools), or None."""
    cache = os.environ.get("PACKETFLOW_KAFKA_CACHE")
    if cache is None:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        cache = str(base / "packetflow" / f"kafka-{kafka_version()}")
    libs = Path(cache) / "libs"
    return libs if any(libs.glob("kafka-tools-*.jar")) else None


class OpsBroker:
    """``ops/kafka`` on the benchmark's own port and run dir; stops only what it started."""

    def __init__(self, port: int, run_dir: Path) -> None:
        self.ctl = OpsKafka(port, run_dir)
        self.started = False

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:<port>``."""
        return self.ctl.bootstrap

    def up(self) -> None:
        """Start the broker unless it already runs (then it is left running at the end)."""
        self.started = self.ctl.run("status", timeout=30).returncode != 0
        self.ctl.must("up")

    def down(self) -> None:
        """Stop the broker if :meth:`up` started it (ops/kafka stops it by its pid file)."""
        if self.started:
            self.ctl.run("down", timeout=120)
            self.started = False


async def _admin(broker: str) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(bootstrap_servers=broker)
    await admin.start()
    return admin


async def create_topics(
    broker: str, names: list[str], partitions: int, settle: float = 1.0
) -> None:
    """Create fresh topics with ``partitions`` partitions and wait until they are usable."""
    admin = await _admin(broker)
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
        for _ in range(100):
            described = await admin.describe_topics(names)
            parts = [p for t in described for p in t.get("partitions", [])]
            if len(parts) == partitions * len(names) and all(p["leader"] >= 0 for p in parts):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(settle)  # leaders listed in metadata may not serve produce yet
    finally:
        await admin.close()


async def delete_topics(broker: str, prefix: str | tuple[str, ...]) -> None:
    """Delete every topic whose name starts with ``prefix`` (or one of them; best effort)."""
    admin = await _admin(broker)
    try:
        names = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if names:
            with contextlib.suppress(Exception):
                await admin.delete_topics(names)
    finally:
        await admin.close()


def _tool(libs: Path, cls: str, args: list[str], timeout: float) -> str:
    cmd = [
        "java",
        "-Xmx512m",
        f"-Dlog4j2.configurationFile={LOG4J}",
        "-Dpacketflow.log.level=WARN",
        "-cp",
        f"{libs}/*",
        cls,
        *args,
    ]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{cls} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc.stdout


_PRODUCED = re.compile(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\)")


def run_perf_tools(
    broker: str, topic: str, records: int, record_size: int, timeout: float = 600
) -> dict[str, Any]:
    """Kafka's ProducerPerformance then ConsumerPerformance on ``topic`` (already created)."""
    libs = kafka_libs()
    if libs is None:
        return {"status": "skipped", "reason": "no Kafka jars in the ops/kafka cache"}
    out = _tool(
        libs,
        "org.apache.kafka.tools.ProducerPerformance",
        [
            *("--topic", topic, "--num-records", str(records), "--record-size", str(record_size)),
            *("--throughput", "-1", "--producer-props", f"bootstrap.servers={broker}", "acks=all"),
        ],
        timeout,
    )
    found = _PRODUCED.findall(out)
    if not found:
        raise RuntimeError(f"unexpected ProducerPerformance output:\n{out}")
    sent, rps, mbps = found[-1]
    out = _tool(
        libs,
        "org.apache.kafka.tools.ConsumerPerformance",
        ["--bootstrap-server", broker, "--topic", topic, "--messages", str(records)],
        timeout,
    )
    lines = [line for line in out.splitlines() if "," in line]
    rows = list(csv.reader(io.StringIO("\n".join(lines)), skipinitialspace=True))
    stats = dict(zip(rows[0], rows[-1], strict=False))
    return {
        "status": "ok",
        "record_size": record_size,
        "records": records,
        "producer": {"records_per_s": float(rps), "mb_per_s": float(mbps), "sent": int(sent)},
        "consumer": {
            "records_per_s": float(stats["fetch.nMsg.sec"]),
            "mb_per_s": float(stats["fetch.MB.sec"]),
            "records_per_s_with_join": float(stats["nMsg.sec"]),
            "consumed": int(stats["data.consumed.in.nMsg"]),
        },
    }
