"""A real worker process (``faust -A packetflow worker``) on the session's broker."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from benchmarks.kafka import delete_topics
from packetflow.client import Client
from tests.e2e.support import E2E_DIR, PREFIXES, Worker, start_worker, wait_ready


@pytest.fixture(scope="session", autouse=True)
def _leave_no_topics(kafka_bootstrap: str) -> Iterator[None]:
    """Delete the topics of every worker the session started, once they have all stopped: a
    long-lived development broker otherwise collects hundreds per run, until it runs out of
    file handles."""
    yield
    if PREFIXES:
        asyncio.run(delete_topics(kafka_bootstrap, tuple(PREFIXES)))  # each unique to a test


@pytest.fixture(scope="session")
async def worker(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Worker]:
    """One worker for the e2e session, serving ``streams`` and the misbehaving test capabilities."""
    w = start_worker(kafka_bootstrap, tmp_path_factory.mktemp("worker"))
    try:
        await wait_ready(w)
        yield w
        assert w.proc.poll() is None, f"worker died during the tests:\n{w.log_tail()}"
    finally:
        w.stop()


@pytest.fixture
async def client(worker: Worker) -> AsyncIterator[Client]:
    async with worker.client() as c:
        yield c


@pytest.fixture
def run_cli(worker: Worker) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the ``packetflow`` CLI against the worker's broker and topics."""

    def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        exe = Path(sys.executable).parent / "packetflow"
        return subprocess.run(
            [str(exe), *args],
            env=worker.cli_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    return run


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder needs the real broker."""
    for item in items:
        if E2E_DIR in item.path.parents:
            item.add_marker(pytest.mark.integration)
