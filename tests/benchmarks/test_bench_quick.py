"""``python -m benchmarks --quick`` against the session's broker: the instrument works.

No thresholds on speed: only that every contender was measured, with positive
throughput and ordered latency percentiles, and that the JSON and PNG exist.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.kafka import kafka_libs

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTENDERS = (
    "raw_aiokafka",
    "raw_faust",
    "raw_checked",
    "packetflow_stateless",
    "packetflow_reactor",
)


@pytest.fixture(scope="module")
def quick_run(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    command = [sys.executable, "-m", "benchmarks", "--quick", "--broker", kafka_bootstrap]
    proc = subprocess.run(
        [*command, "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, f"benchmark failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return out


def test_every_contender_has_throughput_and_ordered_latencies(quick_run: Path) -> None:
    results = json.loads((quick_run / "results.json").read_text())
    contenders = results["contenders"]
    for name in CONTENDERS:
        summary = contenders[name]["summary"]
        assert summary["rps"] > 0, name
        cpu = summary["cpu_us_per_request"]
        # a raw loop may drain --quick's backlog within one tick of the CPU clock (10 ms)
        assert cpu > 0 if name.startswith("packetflow") else cpu >= 0, name
        assert summary["idle_rss_mb"] > 0, name
        assert summary["latency_ms"], name
        for rate, ms in summary["latency_ms"].items():
            assert 0 < ms["p50"] <= ms["p95"] <= ms["p99"] <= ms["max"], (name, rate, ms)
        bases = {"rps_vs_raw_aiokafka", "rps_vs_raw_faust", "rps_vs_raw_checked"}
        assert set(results["ratios"][name]) >= bases, name


def test_broker_limits_and_in_process_costs(quick_run: Path) -> None:
    results = json.loads((quick_run / "results.json").read_text())
    broker = results["broker"]
    if kafka_libs() is None:
        assert broker["status"] == "skipped"
    else:
        assert broker["producer"]["records_per_s"] > 0
        assert broker["consumer"]["records_per_s"] > 0
    stages = results["stages"]
    assert stages["whole path (Processor.handle)"] > 0
    assert all(v > 0 for v in results["encoding"]["us"].values())
    assert results["registry"]["capabilities"] >= 1000
    assert results["registry"]["describe_all_ms"] > 0
    state = results["state"]
    assert state["intents"] > 0
    assert all(v > 0 for k, v in state.items() if k != "intents")


def test_plot_is_written(quick_run: Path) -> None:
    png = quick_run / "results.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_overload_pass_samples_rss_and_lag(quick_run: Path) -> None:
    over = json.loads((quick_run / "results.json").read_text())["overload"]
    assert over["status"] == "ok", over
    assert over["offered_rps"] == pytest.approx(5 * over["capacity_rps"])
    assert over["samples"], over
    assert all(s["rss_mb"] > 0 for s in over["samples"])
    assert over["rss_max_mb"] >= over["rss_start_mb"] > 0


def test_idle_rss_with_the_shipped_and_with_1000_capabilities(quick_run: Path) -> None:
    idle = json.loads((quick_run / "results.json").read_text())["idle"]
    assert set(idle) == {"streams/ capabilities", "1,000 capabilities"}
    for label, figures in idle.items():
        assert figures.get("idle_rss_mb", 0) > 0, (label, figures)


def test_the_planned_workers_are_measured_under_a_steady_rate(quick_run: Path) -> None:
    results = json.loads((quick_run / "results.json").read_text())
    steady = results["steady"]
    assert set(steady) == set(results["plan"]["steady_kinds"]) >= {"packetflow_reactor"}
    for kind, run in steady.items():
        assert run["status"] == "ok", (kind, run)
        assert run["answered_rps"] > 0, (kind, run)
        assert run["cpu_us_per_request"] > 0, (kind, run)
