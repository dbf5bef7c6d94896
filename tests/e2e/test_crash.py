"""The reactor crash test at small size: SIGKILLs and a broker restart lose nothing,
apply nothing twice, and keep every key's effects in order. Full size: ops/crash_test.py."""

from __future__ import annotations

from ops.crash_test import run
from ops.ports import free_ports


async def test_crash_test_small() -> None:
    report = await run(
        requests=3000, keys=200, kills=3, restart_broker=True, port=free_ports(2), rate=200.0
    )
    assert report.kills == 3
    assert report.broker_restarts == 1
    problems = "\n".join(report.worker_problems)
    where = "\n".join(report.lost_trace)
    assert report.lost == 0, f"lost {report.lost_ids}; where:\n{where}\nlogged:\n{problems}"
    assert report.errors == 0
    assert report.double_applied_keys == 0
    assert report.order_violations == 0
    assert report.passed
