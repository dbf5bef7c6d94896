"""The latency tracer times each reactor event through the agent when asked, and sums up stages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ops.latency_trace.summary import STAGES, summary

TRACER = Path(__file__).resolve().parents[2] / "ops" / "latency_trace"

CHECK = """
import asyncio
from types import SimpleNamespace
import packetflow.reactor.agent as agent

def event(offset):
    topic = "app.reactor.counter"
    message = SimpleNamespace(topic=topic, partition=2, offset=offset, timestamp=5.0)
    return SimpleNamespace(message=message)

async def apply(e):
    return [e.message.offset]

async def deliver(outputs):
    pass

asyncio.run(agent.answer_batch([event(7), event(8)], apply, deliver))
"""


def test_each_reactor_event_is_a_json_line_with_its_times(tmp_path: Path) -> None:
    env = {"PYTHONPATH": f"{TRACER}:{TRACER.parents[1]}", "PF_LATENCY_TRACE": str(tmp_path / "h")}
    subprocess.run([sys.executable, "-c", CHECK], env=env, check=True, timeout=60)
    [written] = list(tmp_path.iterdir())
    docs = [json.loads(line) for line in written.read_text().splitlines()]
    assert [(d["tp"], d["o"], d["ts"], d["n"]) for d in docs] == [
        ("app.reactor.counter[2]", 7, 5000.0, 2),
        ("app.reactor.counter[2]", 8, 5000.0, 2),
    ]
    for doc in docs:
        assert doc["batch"] <= doc["apply"] <= doc["deliver"] <= doc["delivered"]


def test_without_the_variable_nothing_is_wrapped(tmp_path: Path) -> None:
    env = {"PYTHONPATH": f"{TRACER}:{TRACER.parents[1]}"}
    subprocess.run([sys.executable, "-c", CHECK], env=env, check=True, timeout=60, cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_summary_cuts_each_event_into_its_stages() -> None:
    doc = {"ts": 1000.0, "sent": 0.9, "resp": 1.002, "got": 1.003, "batch": 1.004}
    doc |= {"apply": 1.004, "deliver": 1.005, "delivered": 1.008}
    rows = {name: p50 for name, p50, _ in summary([doc])}
    assert len(rows) == len(STAGES)
    assert round(rows["hop written -> fetch response parsed"], 3) == 2.0
    assert round(rows["changelog on the broker, answers sent"], 3) == 3.0
    assert round(rows["hop written -> answers sent"], 3) == 8.0
