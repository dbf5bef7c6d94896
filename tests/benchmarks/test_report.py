"""Ratios between contenders: a figure too small to measure gives no ratio, not a crash."""

from __future__ import annotations

from typing import Any

from benchmarks.report import goals, ratios, render_text


def _contender(label: str, rps: float, cpu_us: float, p99: float) -> dict[str, Any]:
    summary = {
        "rps": rps,
        "cpu_us_per_request": cpu_us,
        "cpu_utilisation": 0.5,
        "latency_ms": {"2000": {"p50": 1.0, "p95": 2.0, "p99": p99, "max": 9.0}},
        "idle_rss_mb": 50.0,
        "peak_rss_mb": 60.0,
    }
    return {"label": label, "status": "ok", "summary": summary}


def test_a_base_whose_cpu_reads_zero_gives_no_cpu_ratio_but_the_others() -> None:
    contenders = {
        "raw_aiokafka": _contender("raw aiokafka", 20_000, 40, 20.0),
        "raw_checked": _contender("by hand", 30_000, 0.0, 10.0),  # window under a clock tick
        "packetflow_stateless": _contender("PacketFlow stateless", 8_000, 120, 15.0),
    }
    found = ratios(contenders)

    pf = found["packetflow_stateless"]
    assert pf["rps_vs_raw_checked"] == 8_000 / 30_000
    assert pf["p99_vs_raw_checked"] == 1.5
    assert "cpu_per_request_vs_raw_checked" not in pf
    assert pf["cpu_per_request_vs_raw_aiokafka"] == 3.0
    assert "raw_faust" not in {k.rsplit("_vs_", 1)[1] for k in pf}  # not measured: no ratio

    text = render_text({"contenders": contenders, "ratios": found, "plan": {"rates": [2000.0]}})
    assert "PacketFlow stateless vs by hand: throughput 0.27x, CPU per request n/a" in text


def test_the_reactor_goals_compare_it_with_stateless_and_with_its_own_backlog() -> None:
    stateless = _contender("PacketFlow stateless", 8_000, 120, 15.0)
    reactor = _contender("PacketFlow reactor", 5_000, 200, 60.0)
    reactor["summary"]["latency_ms"]["2000"]["p50"] = 2.5
    contenders = {"packetflow_stateless": stateless, "packetflow_reactor": reactor}
    steady = {"status": "ok", "offered_rps": 3_500.0, "answered_rps": 3_000.0}
    steady["cpu_us_per_request"] = 240.0
    results = {
        "contenders": contenders,
        "ratios": ratios(contenders),
        "steady": {"packetflow_reactor": steady},
    }
    rows = {goal: (measured, met) for goal, measured, met in goals(results)}

    assert rows["reactor p50 <= 3x stateless @2000/s"] == ("2.5/1.0 ms, 2.5x", True)
    assert rows["reactor p99 <= 3x stateless @2000/s"] == ("60.0/15.0 ms, 4.0x", False)
    assert rows["reactor: steady 3,500/s answered >= 99 %"] == ("85.7%", False)
    assert rows["reactor: steady CPU/req <= 1.3x backlog's"] == ("240/200 us, 1.20x", True)
