"""The reactor crash test, modelled on Kafka Streams' EOS system test.

Two workers in one group run the counter reactor over many keys while N
increments with known request ids are produced; workers are SIGKILLed at
random moments and restarted, and the broker is stopped and restarted once.
Then a read_committed consumer checks: every request answered (zero lost),
every key's counter equal to the distinct increments sent to it (zero
double-applied), per-key effect order, and counts duplicate answers, effects
and audit records. With ``--guarantee exactly_once`` the workers run in
transactions, and any duplicate fails the run too.

    .venv/bin/python ops/crash_test.py                 # full size: 100,000 requests
    .venv/bin/python ops/crash_test.py --requests 3000 --keys 200 --rate 200  # the suite's size
    .venv/bin/python ops/crash_test.py --guarantee exactly_once

It starts its own broker (ops/kafka on --port) so it can restart it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ops.kafka_ctl import OpsKafka  # noqa: E402
from ops.ports import free_ports  # noqa: E402
from tests.e2e.support import Worker, start_worker, wait_healthy, wait_ready  # noqa: E402


@dataclass
class Report:
    """What the crash test measured."""

    requests: int
    keys: int
    guarantee: str = "at_least_once"
    kills: int = 0
    broker_restarts: int = 0
    lost: int = 0
    lost_ids: list[str] = field(default_factory=list)
    resent_requests: int = 0
    errors: int = 0
    double_applied_keys: int = 0
    order_violations: int = 0
    duplicate_responses: int = 0
    duplicate_effects: int = 0
    duplicate_audit: int = 0
    duplicates: list[str] = field(default_factory=list)
    recovery_seconds: list[float] = field(default_factory=list)
    self_restarts: int = 0
    produce_seconds: float = 0.0
    settle_seconds: float = 0.0
    worker_problems: list[str] = field(default_factory=list)
    lost_trace: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Zero lost, zero double-applied, effects in order; exactly once: zero duplicates."""
        held = self.lost == 0 and self.double_applied_keys == 0 and self.order_violations == 0
        if self.guarantee == "exactly_once":
            duplicates = self.duplicate_responses + self.duplicate_effects + self.duplicate_audit
            return held and duplicates == 0
        return held


def _say(text: str) -> None:
    print(f"\r[crash] {text}".ljust(100), flush=True)


async def _produce(
    broker: str,
    topic: str,
    n: int,
    keys: int,
    rate: float,
    progress: dict[str, int],
    report: Report,
) -> None:
    """Produce ``n`` increments at ``rate`` per second, so the chaos lands mid-stream.

    A request counts as produced once the broker acknowledged it: one whose
    delivery failed (the broker was away longer than the producer's timeout) is
    sent again, so a request missing from the answers was lost by the workers.
    The producer is idempotent: its own retries around the broker restart would
    otherwise store a request twice, and the workers rightly answer both copies
    (the second ``replayed``), which reads as a duplicate answer.
    """
    producer = AIOKafkaProducer(
        bootstrap_servers=broker, acks="all", linger_ms=5, enable_idempotence=True
    )
    await producer.start()
    started = time.monotonic()
    deliveries: dict[int, asyncio.Future[Any]] = {}
    try:
        for i in range(n):
            ahead = i / rate - (time.monotonic() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)  # pacing, not waiting for readiness
            deliveries[i] = await _send(producer, topic, i, keys)
            progress["produced"] = i + 1
        while deliveries:
            await asyncio.wait(deliveries.values())
            failed = [i for i, fut in deliveries.items() if fut.exception() is not None]
            report.resent_requests += len(failed)
            deliveries = {i: await _send(producer, topic, i, keys) for i in failed}
    finally:
        await producer.stop()


async def _send(producer: AIOKafkaProducer, topic: str, i: int, keys: int) -> asyncio.Future[Any]:
    """Queue increment ``i``, retrying while the broker refuses it; its delivery."""
    doc = {
        "version": "1.0",
        "type": "capability_request",
        "id": f"crash-{i}",
        "capability_id": "counter.increment",
        "payload": {"counter_id": f"k{i % keys}"},
    }
    while True:
        try:
            return await producer.send(topic, json.dumps(doc).encode(), key=f"crash-{i}".encode())
        except Exception:  # broker restarting: retry until it is back
            await asyncio.sleep(0.5)


async def _chaos(
    workers: list[Worker],
    broker: OpsKafka | None,
    kills: int,
    report: Report,
    progress: dict[str, int],
    n: int,
) -> None:
    """Kill a random worker at random moments while requests flow; restart the broker once."""
    events = [(random.uniform(0.1, 0.9), "kill") for _ in range(kills)]
    if broker is not None:
        events.append((random.uniform(0.3, 0.7), "broker"))
    for mark, what in sorted(events):
        while progress["produced"] < mark * n:  # noqa: ASYNC110 - waits on the producer's count
            await asyncio.sleep(0.05)
        if what == "broker" and broker is not None:
            _say(f"restarting the broker at {progress['produced']} produced")
            _say(await asyncio.to_thread(broker.must, "down"))
            _say(await asyncio.to_thread(broker.must, "up"))
            report.broker_restarts += 1
            continue
        victim = random.choice(workers)
        _say(f"SIGKILL worker pid {victim.proc.pid} at {progress['produced']} produced")
        victim.kill()
        report.kills += 1
        await asyncio.sleep(random.uniform(0.5, 2.0))  # the worker stays dead for a while
        started = time.monotonic()
        victim.restart()
        await wait_healthy(victim)
        report.recovery_seconds.append(round(time.monotonic() - started, 2))


async def _answers(
    broker: str,
    topics: list[str],
    n: int,
    deadline_s: float,
    workers: list[Worker],
    report: Report,
) -> list[Any]:
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=broker,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    found: list[Any] = []
    ids: set[str] = set()
    deadline = time.monotonic() + deadline_s
    next_report = 0.0
    try:
        while time.monotonic() < deadline:
            for w in workers:  # the supervisor's job: restart a worker that died by itself
                if w.proc.poll() is not None:
                    report.self_restarts += 1
                    w.restart()
            batches = await consumer.getmany(timeout_ms=1000)
            for messages in batches.values():
                for m in messages:
                    found.append(m)
                    if m.topic in topics[:2] and m.key:  # a response or an error
                        ids.add(m.key.decode())
            crash_ids = sum(1 for i in ids if i.startswith("crash-"))
            if time.monotonic() >= next_report:  # a live counter, refreshed every 2 s
                print(f"\r[crash] answered {crash_ids}/{n}", end="", flush=True)
                next_report = time.monotonic() + 2
            if crash_ids >= n and not batches:
                break
    finally:
        await consumer.stop()
    print()
    return found


def _verify(
    report: Report, records: list[Any], responses: str, errors: str, audit: str, n: int
) -> None:
    answers: Counter[str] = Counter()
    audited: Counter[str] = Counter()
    final: dict[str, int] = {}
    effects: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for m in records:
        doc = json.loads(m.value)
        if m.topic == audit:
            if str(doc.get("correlation_id") or "").startswith("crash-"):
                audited[doc["correlation_id"]] += 1
        elif m.topic in (responses, errors):
            cid = doc.get("correlation_id") or ""
            if not cid.startswith("crash-"):
                continue
            answers[cid] += 1
            if m.topic == errors:
                report.errors += 1
            else:
                key = f"k{int(cid.split('-')[1]) % report.keys}"
                final[key] = max(final.get(key, 0), doc["payload"]["value"])
        elif doc.get("kind") == "reactor":
            effects[doc["data"]["key"]].append((doc["id"], doc["data"]["version"]))
    lost = [f"crash-{i}" for i in range(n) if answers[f"crash-{i}"] == 0]
    report.lost = len(lost)
    report.lost_ids = lost[:50]
    report.duplicate_responses = sum(c - 1 for c in answers.values() if c > 1)
    twice = sorted(cid for cid, c in answers.items() if c > 1)[:5]
    report.duplicates = [  # where each copy of the first few answered twice sits, and how
        f"{cid}: {m.topic}[{m.partition}]@{m.offset} {json.loads(m.value).get('metadata')}"
        for cid in twice
        for m in records
        if m.key and m.key.decode() == cid and m.topic in (responses, errors)
    ]
    report.duplicate_audit = sum(c - 1 for c in audited.values() if c > 1)
    sent = Counter(f"k{i % report.keys}" for i in range(n))
    report.double_applied_keys = sum(1 for k, v in final.items() if v > sent[k])
    for seq in effects.values():
        seen: set[str] = set()
        last = 0
        for effect_id, version in seq:
            if effect_id in seen:
                report.duplicate_effects += 1
                continue
            seen.add(effect_id)
            if version != last + 1:
                report.order_violations += 1
            last = version


async def _trace_lost(broker: str, prefix: str, lost_ids: list[str]) -> list[str]:
    """Where each lost request sits, against the committed offsets of both groups.

    ``requests[p]@o`` is the request; ``reactor.counter[p]@o`` its hop, if the
    request loop produced one; ``committed`` is the group's next offset for that
    partition (the request loop's group for ``requests``, Faust's for the hop).
    An offset below ``committed`` was committed past without an answer.
    """
    try:
        return await _where(broker, prefix, set(lost_ids))
    except Exception as exc:  # diagnostics only: never hide the report itself
        return [f"trace failed: {exc!r}"]


async def _where(broker: str, prefix: str, lost: set[str]) -> list[str]:
    topics = {f"{prefix}.requests": f"{prefix}.requests", f"{prefix}.reactor.counter": prefix}
    admin = AIOKafkaAdminClient(bootstrap_servers=broker)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
        parts = [
            TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]
        ]
        committed: dict[TopicPartition, int] = {}
        for group in set(topics.values()):
            offsets = await admin.list_consumer_group_offsets(group)
            committed.update({tp: meta.offset for tp, meta in offsets.items()})
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=broker, enable_auto_commit=False)
    await consumer.start()
    found: dict[str, list[str]] = defaultdict(list)
    try:
        if not parts:
            return [f"no partitions found for {sorted(topics)}"]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
            for tp, messages in (await consumer.getmany(timeout_ms=1000)).items():
                for m in messages:  # a hop may sit in a bundle: look for the id in the bytes
                    for rid in (r for r in lost if f'"id": "{r}"'.encode() in (m.value or b"")):
                        where = f"{tp.topic.removeprefix(prefix + '.')}[{tp.partition}]@{m.offset}"
                        found[rid].append(f"{where} (committed {committed.get(tp, '-')})")
    finally:
        await consumer.stop()
    return [f"{rid}: {', '.join(found.get(rid, ['nowhere']))}" for rid in sorted(lost)]


def _problems(logs: list[Path], limit: int = 60) -> list[str]:
    """The workers' warnings and errors, each kind once (numbers aside) with its count and its
    first line: why a run failed."""
    seen: Counter[str] = Counter()
    first: dict[str, str] = {}
    for path in logs:
        for line in path.read_text(errors="replace").splitlines():
            if any(f"[{level}]" in line for level in ("WARNING", "ERROR", "CRITICAL")):
                text = f"{path.parent.name}: {line.partition('] ')[2][:240]}"
                kind = re.sub(r"\d+", "#", text)
                seen[kind] += 1
                first.setdefault(kind, text)
    return [f"{count}x {first[kind]}" for kind, count in seen.most_common(limit)]


async def run(
    requests: int,
    keys: int,
    kills: int,
    restart_broker: bool,
    port: int,
    rate: float = 1000.0,
    partitions: int = 6,
    guarantee: str = "at_least_once",
) -> Report:
    """Run the whole crash test; returns the report (``report.passed`` says if it held)."""
    report = Report(requests=requests, keys=keys, guarantee=guarantee)
    broker = OpsKafka(port, ROOT / ".run" / f"kafka-crash-{port}")
    _say(f"broker on {broker.bootstrap}")
    _say(broker.must("up"))
    prefix = f"crash-{uuid.uuid4().hex[:8]}"
    env = {
        "PACKETFLOW_TOPIC_PREFIX": prefix,
        "PACKETFLOW_APP_ID": prefix,
        "PACKETFLOW_PARTITIONS": str(partitions),
        "PACKETFLOW_SESSION_TIMEOUT": "10",
        "PACKETFLOW_GUARANTEE": guarantee,
    }
    workdir = Path(tempfile.mkdtemp(prefix="pf-crash-"))
    workers = []
    for n in range(2):
        (workdir / f"w{n}").mkdir()
        # a restarted worker keeps its id: its transactions fence its predecessor's
        workers.append(
            start_worker(broker.bootstrap, workdir / f"w{n}", PACKETFLOW_WORKER_ID=f"w{n}", **env)
        )
    try:
        for w in workers:
            await wait_ready(w)
        progress = {"produced": 0}
        started = time.monotonic()
        topics = workers[0].topics
        await asyncio.gather(
            _produce(broker.bootstrap, topics.requests, requests, keys, rate, progress, report),
            _chaos(workers, broker if restart_broker else None, kills, report, progress, requests),
        )
        report.produce_seconds = round(time.monotonic() - started, 1)
        for w in workers:  # a worker may have died on its own while the broker was away
            if w.proc.poll() is not None:
                w.restart()
                await wait_healthy(w)
        settle = time.monotonic()
        records = await _answers(
            broker.bootstrap,
            [topics.responses, topics.errors, topics.audit, topics.effects],
            requests,
            deadline_s=max(300.0, requests / 200),
            workers=workers,
            report=report,
        )
        report.settle_seconds = round(time.monotonic() - settle, 1)
        _verify(report, records, topics.responses, topics.errors, topics.audit, requests)
        if not report.passed:
            report.worker_problems = _problems([w.log for w in workers])
        if report.lost:
            report.lost_trace = await _trace_lost(broker.bootstrap, prefix, report.lost_ids[:10])
    finally:
        for w in workers:
            w.stop()
        broker.run("down")
        if os.environ.get("PACKETFLOW_CRASH_KEEP"):  # keep the workers' logs and data
            _say(f"kept {workdir} and {broker.run_dir}")
        else:
            shutil.rmtree(broker.run_dir, ignore_errors=True)
            shutil.rmtree(workdir, ignore_errors=True)
    return report


def main() -> int:
    """Run from the command line; exit 1 unless zero lost and zero double-applied."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=1_000)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--no-broker-restart", action="store_true")
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="broker client port; the controller takes the next one (default: two free ports)",
    )
    parser.add_argument("--rate", type=float, default=1000.0, help="requests/s offered")
    parser.add_argument(
        "--guarantee", choices=("at_least_once", "exactly_once"), default="at_least_once"
    )
    parser.add_argument("--out", type=Path, default=ROOT / ".run" / "crash-report.json")
    args = parser.parse_args()
    port = args.port if args.port is not None else free_ports(2)
    report = asyncio.run(
        run(
            args.requests,
            args.keys,
            args.kills,
            not args.no_broker_restart,
            port,
            args.rate,
            guarantee=args.guarantee,
        )
    )
    summary = {**asdict(report), "passed": report.passed}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0 if report.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
