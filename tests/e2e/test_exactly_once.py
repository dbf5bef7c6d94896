"""Exactly once on the real broker: answers, effects and audit records are written in
transactions, and a read_committed reader sees each once (crashes: ops/crash_test.py
--guarantee exactly_once)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tests.e2e.support import committed_records, start_worker, wait_ready


async def test_each_answer_effect_and_audit_record_is_seen_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    worker = start_worker(
        kafka_bootstrap,
        tmp_path,
        PACKETFLOW_GUARANTEE="exactly_once",
        PACKETFLOW_WORKER_ID="eos-e2e",
    )
    try:
        await wait_ready(worker)
        async with worker.client() as client:
            values = [
                (await client.call("counter.increment", {"counter_id": f"eos-{i % 2}"}))["value"]
                for i in range(10)
            ]
            pong = await client.ping()
        assert sorted(values) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]  # each applied once
        assert pong["status"] == "alive"
        parts = int(worker.env["PACKETFLOW_PARTITIONS"])
        responses, offsets = await committed_records(
            kafka_bootstrap, worker.topics.responses, parts
        )
        assert offsets > len(responses)  # written in transactions: their markers take offsets
        answered = Counter(json.loads(m.value)["correlation_id"] for m in responses)
        increments = [cid for cid, n in answered.items() if n and cid]
        assert len(increments) >= 10
        assert max(answered.values()) == 1  # none answered twice
        effects, _ = await committed_records(kafka_bootstrap, worker.topics.effects, parts)
        effect_ids = Counter(json.loads(m.value)["id"] for m in effects)
        assert len(effect_ids) >= 10
        assert max(effect_ids.values()) == 1
        audit, _ = await committed_records(kafka_bootstrap, worker.topics.audit, parts)
        audited = Counter(json.loads(m.value)["correlation_id"] for m in audit)
        assert all(audited[cid] == 1 for cid in increments)
        assert worker.proc.poll() is None, worker.log_tail()
    finally:
        worker.stop()
