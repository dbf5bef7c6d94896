"""Fixtures shared by every test: where the repo is, and a Kafka broker.

``kafka_bootstrap`` ("host:port") comes from, in this order:

1. ``PACKETFLOW_BROKER``, used as is (a broker you run yourself);
2. testcontainers' ``KafkaContainer``, if a Docker engine answers;
3. ``ops/kafka up`` on a dedicated test port (``PACKETFLOW_TEST_KAFKA_PORT``, default
   19092) with its own run dir ``.run/kafka-test``. The broker is stopped at the end of
   the session only if this session started it, so a broker you keep running between
   runs stays up (stop it with ``PACKETFLOW_KAFKA_PORT=19092
   PACKETFLOW_RUN_DIR=.run/kafka-test ops/kafka down``).

A broker that cannot be had fails the tests that need it; they are never skipped.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# Imported here, at collection: otherwise hypothesis's pytest plugin imports it
# in the terminal summary, when pytest's assertion rewriter parses it while the
# garbage collector finalizes tasks left by earlier tests, and CPython 3.11.7's
# ast.parse then fails with "AST constructor recursion depth mismatch" (seen
# running tests/packetflow/worker/test_ingress*.py on their own).
import hypothesis  # noqa: F401
import pytest

from ops.kafka_ctl import OpsKafka

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST_RUN_DIR = REPO_ROOT / ".run" / "kafka-test"
DEFAULT_TEST_PORT = 19092
# testcontainers' KafkaContainer drives the Confluent image's start scripts.
DEFAULT_TEST_IMAGE = "confluentinc/cp-kafka:7.6.0"
# Generous: the first `up` on a machine downloads the broker's jars with Maven.
OPS_UP_TIMEOUT_S = 900

BrokerSource = Literal["env", "testcontainers", "ops"]


@dataclass(frozen=True)
class KafkaBroker:
    """The session's broker: its address, where it came from and, for ops/kafka, its handle."""

    bootstrap: str
    source: BrokerSource
    ops: OpsKafka | None = None


def _output(proc: subprocess.CompletedProcess[str]) -> str:
    return f"{proc.stdout}{proc.stderr}".strip()


def _docker_engine_answers() -> bool:
    """True if a Docker engine responds; quick and quiet when there is none."""
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _testcontainers_broker() -> Iterator[KafkaBroker]:
    try:
        from testcontainers.community.kafka import KafkaContainer
    except ImportError:  # testcontainers < 4.10
        from testcontainers.kafka import KafkaContainer

    image = os.environ.get("PACKETFLOW_TEST_KAFKA_IMAGE", DEFAULT_TEST_IMAGE)
    container = KafkaContainer(image).with_kraft()
    try:
        container.start(timeout=180)
    except Exception as exc:
        with contextlib.suppress(Exception):
            container.stop()
        pytest.fail(f"could not start Kafka ({image}) with testcontainers: {exc!r}")
    try:
        yield KafkaBroker(container.get_bootstrap_server(), "testcontainers")
    finally:
        container.stop()


def _ops_broker() -> Iterator[KafkaBroker]:
    raw_port = os.environ.get("PACKETFLOW_TEST_KAFKA_PORT", str(DEFAULT_TEST_PORT))
    if not raw_port.isdigit():
        pytest.fail(f"PACKETFLOW_TEST_KAFKA_PORT must be a port number, got {raw_port!r}")
    ops = OpsKafka(port=int(raw_port), run_dir=TEST_RUN_DIR)

    was_running = ops.run("status").returncode == 0
    try:
        up = ops.run("up", timeout=OPS_UP_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"ops/kafka up did not finish within {exc.timeout:.0f}s")
    if up.returncode != 0:
        pytest.fail(f"ops/kafka up failed (exit {up.returncode}):\n{_output(up)}")
    try:
        yield KafkaBroker(ops.bootstrap, "ops", ops)
    finally:
        if not was_running:
            down = ops.run("down")
            if down.returncode != 0:
                pytest.fail(f"ops/kafka down failed (exit {down.returncode}):\n{_output(down)}")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's root directory."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def ops_dir(repo_root: Path) -> Path:
    """``ops/``: the broker script and the deployment config."""
    return repo_root / "ops"


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker]:
    """The session's Kafka broker (see the module docstring for where it comes from)."""
    configured = os.environ.get("PACKETFLOW_BROKER", "").strip()
    if configured:
        yield KafkaBroker(configured, "env")
    elif _docker_engine_answers():
        yield from _testcontainers_broker()
    else:
        yield from _ops_broker()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: KafkaBroker) -> str:
    """``host:port`` of a Kafka broker that accepts produce and consume requests."""
    return kafka_broker.bootstrap
