"""The stages of the reactor events that ``sitecustomize`` traced: p50 and p99 in ms.

``python ops/latency_trace/summary.py TRACE [TRACE ...] [--skip SECONDS]``
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

STAGES = [
    ("hop written, no fetch in flight yet", lambda d: max(0.0, d["sent"] - d["ts"] / 1000)),
    ("hop written -> fetch response parsed", lambda d: d["resp"] - d["ts"] / 1000),
    ("response -> aiokafka getmany", lambda d: d["got"] - d["resp"]),
    ("getmany -> batch at the agent", lambda d: d["batch"] - d["got"]),
    ("batch -> applied", lambda d: d["apply"] - d["batch"]),
    ("applied -> chunk delivering", lambda d: d["deliver"] - d["apply"]),
    ("changelog on the broker, answers sent", lambda d: d["delivered"] - d["deliver"]),
    ("hop written -> answers sent", lambda d: d["delivered"] - d["ts"] / 1000),
]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(docs: list[dict[str, Any]]) -> list[tuple[str, float, float]]:
    """Each stage's (name, p50 ms, p99 ms)."""
    rows = []
    for name, stage in STAGES:
        values = [1000 * stage(d) for d in docs]
        rows.append((name, _pct(values, 0.5), _pct(values, 0.99)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("traces", nargs="+", type=Path)
    parser.add_argument("--skip", type=float, default=2.0, help="seconds of warm-up to leave out")
    args = parser.parse_args()
    docs = [json.loads(line) for t in args.traces for line in t.read_text().splitlines()]
    docs = [d for d in docs if d["got"] and d["sent"]]
    start = min(d["ts"] for d in docs) / 1000
    docs = [d for d in docs if d["ts"] / 1000 >= start + args.skip]
    print(f"{len(docs)} events, batch size median {statistics.median(d['n'] for d in docs)}")
    for name, p50, p99 in summary(docs):
        print(f"{name:<42} {p50:7.1f} {p99:7.1f}")


if __name__ == "__main__":
    main()
