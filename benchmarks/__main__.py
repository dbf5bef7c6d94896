"""``python -m benchmarks [--quick] [--broker HOST:PORT] [--out DIR] [--profile]``."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import shutil
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

from benchmarks import stages
from benchmarks.contenders import CONTENDERS, Plan, run_contender
from benchmarks.idle import idle_rss
from benchmarks.kafka import OpsBroker, create_topics, delete_topics, kafka_version, run_perf_tools
from benchmarks.overload import overload_run
from benchmarks.profile import profile_worker
from benchmarks.progress import Progress
from benchmarks.report import ratios, render_text, summarise, write_plot
from benchmarks.state_costs import state_costs
from benchmarks.steady import measure_steady

DEFAULT_PORT = 19192
STEADY_SHARE = 0.7
"""The steady pass offers this share of the rate a contender drained its backlog at."""
QUICK = Plan(
    3_000,
    0.2,
    (2000.0,),
    1.0,
    0.3,
    8,
    50_000,
    1_000,
    settle_s=1.0,
    overload_s=5,
    steady_s=5,
    steady_kinds=("packetflow_reactor",),  # the stateless one runs the same code
)
"""Proves the instrument works in under two minutes. Its figures mean little: a raw loop
drains the backlog in one or two fetches, so its window can fall under the CPU clock's tick."""
# 120,000 requests: a window of 96,000 lasts seconds even for raw aiokafka at 40,000 req/s
FULL = Plan(120_000, 0.2, (2000.0, 250.0), 10.0, 2.0, 8, 1_000_000, 10_000)


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small N, one round (< 2 minutes)")
    p.add_argument("--broker", help="HOST:PORT of a running broker (default: start one)")
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    p.add_argument("--rounds", type=int, help="rounds of the contenders (default 1, full 2)")
    p.add_argument("--requests", type=int, help="backlog size of the throughput runs")
    p.add_argument("--profile", action="store_true", help="py-spy the PacketFlow worker too")
    return p.parse_args()


def _machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu_model": model,
        "python": platform.python_version(),
        "kafka": kafka_version(),
        "packages": {p: version(p) for p in ("faust-streaming", "aiokafka", "pydantic")},
        "loadavg_start": os.getloadavg(),
    }


async def _run(args: argparse.Namespace, broker: str, progress: Progress) -> dict[str, Any]:
    plan = QUICK if args.quick else FULL
    if args.requests:
        plan = Plan(**{**plan.__dict__, "requests": args.requests})
    rounds = args.rounds or (1 if args.quick else 2)
    run_id = f"bench-{int(time.time())}"
    work = args.out / "work"
    results: dict[str, Any] = {"meta": _machine(), "plan": {**plan.__dict__, "rounds": rounds}}
    results["meta"].update(broker=broker, started=datetime.now(UTC).isoformat(), run_id=run_id)
    per: dict[str, list[dict[str, Any]]] = {k: [] for k in CONTENDERS}
    try:
        for n in range(rounds):
            for kind in CONTENDERS:
                progress.log(f"[round {n + 1}/{rounds}] {CONTENDERS[kind]}")
                per[kind].append(
                    await run_contender(kind, broker, f"{run_id}-r{n}", plan, work, progress)
                )
        contenders: dict[str, Any] = {
            k: {"label": CONTENDERS[k], "status": "ok", "summary": summarise(v), "rounds": v}
            for k, v in per.items()
        }
        results["contenders"] = contenders
        results["ratios"] = ratios(contenders)
        results["overload"] = await _overload(broker, run_id, plan, contenders, work, progress)
        results["steady"] = await _steady(broker, run_id, plan, contenders, work, progress)
        results["idle"] = await idle_rss(broker, run_id, plan, work, progress)
        progress.log("Kafka ProducerPerformance / ConsumerPerformance")
        perf_topic = f"{run_id}-kafka-perf"
        await create_topics(broker, [perf_topic], plan.partitions)
        size = per["raw_aiokafka"][0]["request_bytes"]
        results["broker"] = await asyncio.to_thread(
            run_perf_tools, broker, perf_topic, plan.perf_records, size
        )
        progress.log("in-process: per-stage cost, JSON vs Avro, registry of 1,000, reactor state")
        results["stages"] = await stages.stage_costs(plan.stage_records)
        results["encoding"] = stages.encoding_costs(plan.stage_records)
        results["registry"] = await stages.registry_costs(1000)
        results["state"] = state_costs(plan.stage_records)
        if args.profile:
            for kind, key in (
                ("packetflow_stateless", "profile"),
                ("packetflow_reactor", "profile_reactor"),
            ):
                progress.log(f"py-spy profile of the {kind} worker")
                results[key] = await _profile(broker, run_id, plan, work, args.out, kind, progress)
    finally:
        await delete_topics(broker, run_id)
        if not os.environ.get("BENCH_KEEP"):  # BENCH_KEEP=1 keeps the workers' logs
            shutil.rmtree(work, ignore_errors=True)
    return results


async def _profile(
    broker: str, run_id: str, plan: Plan, work: Path, out: Path, kind: str, progress: Progress
) -> dict[str, Any]:
    """py-spy a worker of ``kind`` for 15 s; a failed sampler never loses the measured figures."""
    try:
        found = await profile_worker(
            broker, run_id, plan, work, out / f"profile-{kind}.txt", 15, progress, kind
        )
    except Exception as exc:
        return {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    for category, share in list(found.get("busy_by_category", {}).items())[:6]:
        progress.log(f"  {share:6.1%}  {category}")
    return found


async def _steady(
    broker: str,
    run_id: str,
    plan: Plan,
    contenders: dict[str, Any],
    work: Path,
    progress: Progress,
) -> dict[str, Any]:
    """What each PacketFlow worker answers under a steady offer (not a backlog): ``STEADY_SHARE``
    of the rate it drained a backlog at in this run, else the plan's fixed rate."""
    out: dict[str, Any] = {}
    for kind in plan.steady_kinds:
        drained = contenders.get(kind, {}).get("summary", {}).get("rps")
        rate = STEADY_SHARE * drained if drained else plan.steady_rps
        progress.log(f"steady: {CONTENDERS[kind]} offered {rate:,.0f} req/s")
        try:
            found = await measure_steady(
                kind,
                broker,
                f"{run_id}-steady",
                rate,
                plan.steady_s,
                work,
                progress,
                settle_s=plan.settle_s,
            )
            out[kind] = {"status": "ok", **found}
        except Exception as exc:
            out[kind] = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"[:2000]}
    return out


async def _overload(
    broker: str,
    run_id: str,
    plan: Plan,
    contenders: dict[str, Any],
    work: Path,
    progress: Progress,
) -> dict[str, Any]:
    """PacketFlow stateless offered 5x its measured throughput (60 s, quick: 10 s)."""
    capacity = contenders["packetflow_stateless"]["summary"]["rps"]
    progress.log(f"overload: PacketFlow stateless at 5 x {capacity:,.0f} req/s")
    try:
        return await overload_run(
            "packetflow_stateless",
            broker,
            run_id,
            plan,
            capacity,
            5.0,
            plan.overload_s,
            work,
            progress,
        )
    except Exception as exc:
        return {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"[:2000]}


def main() -> None:
    args = _args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    progress = Progress()
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    ops = None
    broker = args.broker
    try:
        if broker is None:
            run_dir = Path(__file__).resolve().parent.parent / ".run" / "kafka-bench"
            ops = OpsBroker(DEFAULT_PORT, run_dir)
            progress.log(f"starting a broker with ops/kafka on {ops.bootstrap}")
            ops.up()
            broker = ops.bootstrap
        results = asyncio.run(_run(args, broker, progress))
    finally:
        progress.close()
        if ops is not None:
            ops.down()
    results["meta"]["duration_s"] = time.perf_counter() - started
    results["meta"]["loadavg_end"] = os.getloadavg()
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    write_plot(results, args.out / "results.png")
    print(render_text(results))
    print(
        f"\n{results['meta']['duration_s']:.0f}s; wrote {args.out / 'results.json'} and results.png"
    )


if __name__ == "__main__":
    main()
