"""ops/kafka, the Docker-free dev/test broker: its command line and a running broker."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

if TYPE_CHECKING:
    from conftest import KafkaBroker

    from ops.kafka_ctl import OpsKafka

UP_LINE = re.compile(r"^kafka up: (?P<addr>\S+) \(pid (?P<pid>\d+)", re.MULTILINE)
STATUS_LINE = re.compile(r"^running (?P<addr>\S+) pid (?P<pid>\d+)$", re.MULTILINE)


def run_script(
    ops_dir: Path, *args: str, run_dir: Path, port: int = 39_092
) -> subprocess.CompletedProcess[str]:
    """ops/kafka ARGS against a private run dir; these commands never start a broker."""
    env = {
        **os.environ,
        "PACKETFLOW_KAFKA_PORT": str(port),
        "PACKETFLOW_RUN_DIR": str(run_dir),
    }
    return subprocess.run(
        [str(ops_dir / "kafka"), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def ops_of(broker: KafkaBroker) -> OpsKafka:
    if broker.ops is None:
        pytest.skip(f"the session's broker came from {broker.source}, not from ops/kafka")
    return broker.ops


# --- the command line, no broker needed -------------------------------------------


def test_unknown_command_fails_with_usage(ops_dir: Path, tmp_path: Path) -> None:
    proc = run_script(ops_dir, "start", run_dir=tmp_path)

    assert proc.returncode != 0
    assert "unknown command: start" in proc.stderr
    assert "usage: ops/kafka" in proc.stderr
    for command in ("up", "down", "status", "logs"):
        assert re.search(rf"^\s+{command}\s", proc.stderr, re.MULTILINE), command


def test_help_lists_commands_and_settings(ops_dir: Path, tmp_path: Path) -> None:
    proc = run_script(ops_dir, "help", run_dir=tmp_path)

    assert proc.returncode == 0
    assert "usage: ops/kafka" in proc.stdout
    assert "PACKETFLOW_KAFKA_PORT" in proc.stdout
    assert "PACKETFLOW_RUN_DIR" in proc.stdout


def test_status_of_a_never_started_broker_is_stopped(ops_dir: Path, tmp_path: Path) -> None:
    proc = run_script(ops_dir, "status", run_dir=tmp_path / "never-started")

    assert proc.returncode == 3
    assert proc.stdout.strip() == "stopped"


def test_down_leaves_an_unrelated_process_behind_a_stale_pid_file_alone(
    ops_dir: Path, tmp_path: Path
) -> None:
    # A pid file that outlived its broker; the pid now belongs to something else.
    bystander = subprocess.Popen(["sleep", "300"])
    try:
        (tmp_path / "kafka.pid").write_text(f"{bystander.pid}\n")

        status = run_script(ops_dir, "status", run_dir=tmp_path)
        down = run_script(ops_dir, "down", run_dir=tmp_path)

        assert status.returncode == 3
        assert status.stdout.strip() == "stopped"
        assert down.returncode == 0
        assert "not running" in down.stdout
        assert bystander.poll() is None, "ops/kafka down killed a process that is not its broker"
        assert not (tmp_path / "kafka.pid").exists()
    finally:
        bystander.kill()
        bystander.wait()


# --- the session's broker ------------------------------------------------------------


@pytest.mark.integration
def test_status_reports_the_running_test_broker(kafka_broker: KafkaBroker) -> None:
    ops = ops_of(kafka_broker)

    status = ops.run("status")

    assert status.returncode == 0, status.stdout + status.stderr
    match = STATUS_LINE.search(status.stdout)
    assert match, status.stdout
    assert match["addr"] == kafka_broker.bootstrap == f"127.0.0.1:{ops.port}"
    assert (ops.run_dir / "kafka.pid").read_text().strip() == match["pid"]


@pytest.mark.integration
def test_up_on_a_running_broker_keeps_it(kafka_broker: KafkaBroker) -> None:
    ops = ops_of(kafka_broker)
    before = STATUS_LINE.search(ops.run("status").stdout)
    assert before, "the test broker is not running"

    up = ops.run("up")

    assert up.returncode == 0, up.stdout + up.stderr
    match = UP_LINE.search(up.stdout)
    assert match, up.stdout
    assert match["addr"] == kafka_broker.bootstrap
    assert match["pid"] == before["pid"], "up started a second broker"
    assert "downloading" not in up.stderr
    after = STATUS_LINE.search(ops.run("status").stdout)
    assert after
    assert after["pid"] == before["pid"]


@pytest.mark.integration
async def test_python_client_round_trip_on_an_auto_created_topic(kafka_bootstrap: str) -> None:
    topic = f"ops-roundtrip-{uuid.uuid4().hex[:12]}"
    payload = uuid.uuid4().bytes

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, request_timeout_ms=20_000)
    try:
        await producer.start()
        await asyncio.wait_for(producer.send_and_wait(topic, payload), 60)
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"{topic}-reader",
        auto_offset_reset="earliest",
    )
    try:
        await consumer.start()
        record = await asyncio.wait_for(consumer.getone(), 60)
    finally:
        await consumer.stop()

    assert record.value == payload
