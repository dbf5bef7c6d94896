"""An effect record over the worker's outbound limit, on the real broker: the caller is answered,
the effect is stored with its data described, and the worker goes on without a restart.

The broker refuses a record over its ``message.max.bytes`` (1 MiB by default) on every
redelivery, so a worker writing the ~2 MB effect whole would halt and never get past the
request. A dedicated worker (own topics) keeps such a halt from taking the session's worker.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

from packetflow.encoding import Encoder, Encoding
from packetflow.pipeline.oversize import DESCRIBED
from tests.e2e.e2e_caps import attachment_data
from tests.e2e.support import Worker, collect, field_is, json_of, start_worker, wait_ready

BIG = 2_000_000  # characters of effect data: twice Kafka's default message.max.bytes
SMALL = 1_000


async def effects_of(worker: Worker, trace: str) -> dict[str, Any]:
    """The two effect records (``audit_log``, ``attachment``) of the request traced ``trace``,
    by kind, as consumed."""
    records = await collect(worker.broker, worker.topics.effects, field_is("trace_id", trace), 2)
    by_kind = {json_of(r)["kind"]: r for r in records}
    assert sorted(by_kind) == ["attachment", "audit_log"], [json_of(r) for r in records]
    return by_kind


async def test_an_effect_over_the_outbound_limit_is_stored_described_and_the_worker_goes_on(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    worker = start_worker(kafka_bootstrap, tmp_path)
    try:
        await wait_ready(worker)
        pid = worker.proc.pid
        run = uuid.uuid4().hex[:8]
        big = {"size": BIG, "seed": 1}
        small = {"size": SMALL, "seed": 2}
        async with worker.client() as client:
            # 1. The caller gets its normal answer: the effect's size is not its concern.
            answer = await client.call(
                "attach", big, context={"user_id": "big-1", "trace_id": f"big-{run}"}, timeout=60
            )
            assert answer == {"size": BIG}
            # 2. The next request is answered too, by the same process.
            after = await client.call(
                "attach", small, context={"user_id": "small-1", "trace_id": f"small-{run}"}
            )
            assert after == {"size": SMALL}
            assert (await client.ping())["status"] == "alive"
        assert worker.proc.poll() is None, f"worker died:\n{worker.log_tail()}"
        assert worker.proc.pid == pid  # never restarted
        log = worker.log.read_text(errors="replace")
        assert "stopping the worker without a commit" not in log  # halt()
        assert "Crashed" not in log  # the app, on an undelivered record
        assert "Restarting dead" not in log  # a crashed agent, restarted by Faust

        # 3. The effect record is on the effects topic: every field but data as written,
        #    data describing the record it replaces (its size and SHA-256, as documented).
        effects = await effects_of(worker, f"big-{run}")
        stored = effects["attachment"]
        doc = json_of(stored)
        assert len(stored.value) < 1024
        assert stored.key == doc["correlation_id"].encode()
        assert dict(stored.headers)["content-type"] == b"application/json"
        assert {k: doc[k] for k in ("kind", "name", "status", "capability_id", "user_id")} == {
            "kind": "attachment",
            "name": "attachment",
            "status": "ok",
            "capability_id": "attach",
            "user_id": "big-1",
        }
        audit_log = json_of(effects["audit_log"])
        assert audit_log["correlation_id"] == doc["correlation_id"]  # same request, stored whole
        assert audit_log["data"]["level"] == "info"
        # the record as the worker would have written it whole: same fields, same order, the
        # capability's data (the worker writes JSON records; the encoding is deterministic)
        whole = Encoder().encode("effect", {**doc, "data": attachment_data(big)}, Encoding.JSON)
        assert len(whole) > 1_048_576  # more than the broker takes
        assert doc["data"] == {
            "omitted": DESCRIBED,
            "bytes": len(whole),
            "sha256": hashlib.sha256(whole).hexdigest(),
        }

        # 4. An effect under the limit after it is stored whole.
        after_effects = await effects_of(worker, f"small-{run}")
        assert json_of(after_effects["attachment"])["data"] == attachment_data(small)
    finally:
        worker.stop()
