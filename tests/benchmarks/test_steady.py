"""``python -m benchmarks.steady``: variants are read strictly, and a short run measures each."""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from benchmarks.steady import parse_variant

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("spec", ["noname", ":A=1", "x:A", "x:=1", "x:A=1,B"])
def test_a_malformed_variant_is_refused_naming_it(spec: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=repr(spec)):
        parse_variant(spec)


def test_a_variant_is_a_name_and_its_environment() -> None:
    assert parse_variant("default:") == ("default", {})
    assert parse_variant("fw:PACKETFLOW_FETCH_WAIT_MS=20,X=a=b") == (
        "fw",
        {"PACKETFLOW_FETCH_WAIT_MS": "20", "X": "a=b"},
    )


@pytest.mark.integration
@pytest.mark.parametrize(
    "how",
    [
        ["--mode", "capacity", "--kind", "packetflow_stateless"],
        ["--mode", "drain", "--kind", "packetflow_reactor", "--keys", "10"],
    ],
    ids=["capacity", "drain-hot-keys"],
)
def test_a_short_run_measures_every_variant_and_leaves_no_topic(
    kafka_bootstrap: str, tmp_path: Path, how: list[str]
) -> None:
    before = asyncio.run(steady_topics(kafka_bootstrap))
    out = tmp_path / "steady.json"
    command = [sys.executable, "-m", "benchmarks.steady", "--broker", kafka_bootstrap, *how,
               "--rate", "300", "--seconds", "5",
               "--rounds", "1", "--variant", "a:", "--variant", "b:PACKETFLOW_FETCH_WAIT_MS=5",
               "--workdir", str(tmp_path), "--out", str(out)]  # fmt: skip
    proc = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
                          check=False, stdin=subprocess.DEVNULL)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert sorted(figures) == ["a", "b"]
    for (run,) in figures.values():
        assert run["answered_rps"] > 0
        assert run["cpu_us_per_request"] > 0
    deadline = time.monotonic() + 60  # deletion is asynchronous on the broker
    while (left := asyncio.run(steady_topics(kafka_bootstrap)) - before) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.5)
    assert left == set()


async def steady_topics(broker: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=broker)
    await admin.start()
    try:
        return {t for t in await admin.list_topics() if t.startswith("steady-")}
    finally:
        await admin.close()
