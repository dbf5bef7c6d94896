"""The commit tracer wraps an agent's transactions only when asked, and writes JSON lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

TRACER = Path(__file__).resolve().parents[2] / "ops" / "commit_trace"

CHECK = """
import asyncio, json, sys
from types import SimpleNamespace
import packetflow.worker.agent_transactions as at
tx = at.AgentTransactions.__new__(at.AgentTransactions)
tx._app = SimpleNamespace(consumer_generation_id=3, consumer=SimpleNamespace(assignment=set))
tx._consumed, tx._continuity = {}, SimpleNamespace(first={})
asyncio.run(tx.commit([]))  # nothing consumed, nothing to answer: no transaction
"""


def test_each_commit_is_a_json_line_in_the_process_file(tmp_path: Path) -> None:
    env = {"PYTHONPATH": f"{TRACER}:{TRACER.parents[1]}", "PF_COMMIT_TRACE": str(tmp_path / "c")}
    subprocess.run([sys.executable, "-c", CHECK], env=env, check=True, timeout=60)
    [written] = list(tmp_path.iterdir())
    [line] = written.read_text().splitlines()
    assert json.loads(line) | {"t": 0, "dt": 0} == {
        "t": 0,
        "dt": 0,
        "gen": 3,
        "gen_after": 3,
        "offsets": {},
        "first": {},
        "owned": [],
        "outputs": 0,
        "res": "ok",
    }
