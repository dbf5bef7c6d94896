"""The reactor crash test at small size: SIGKILLs and a broker restart lose nothing,
apply nothing twice, and keep every key's effects in order; exactly once, nothing is seen
twice either. Full size: ops/crash_test.py."""

from __future__ import annotations

import pytest

from ops.crash_test import run
from ops.ports import free_ports


@pytest.mark.parametrize(
    ("requests", "keys", "kills", "restart_broker", "rate", "guarantee"),
    [
        pytest.param(3000, 200, 3, True, 200.0, "at_least_once", id="many-keys"),
        # ~400 increments per key per second: each key outruns its 128-id log between commits
        pytest.param(4000, 2, 2, False, 800.0, "at_least_once", id="hot-keys"),
        pytest.param(3000, 200, 3, True, 200.0, "exactly_once", id="exactly-once"),
    ],
)
async def test_crash_test_small(
    requests: int, keys: int, kills: int, restart_broker: bool, rate: float, guarantee: str
) -> None:
    report = await run(
        requests=requests,
        keys=keys,
        kills=kills,
        restart_broker=restart_broker,
        port=free_ports(2),
        rate=rate,
        guarantee=guarantee,
    )
    assert report.kills == kills
    assert report.broker_restarts == int(restart_broker)
    problems = "\n".join(report.worker_problems)
    where = "\n".join(report.lost_trace)
    assert report.lost == 0, f"lost {report.lost_ids}; where:\n{where}\nlogged:\n{problems}"
    assert report.errors == 0
    assert report.double_applied_keys == 0
    assert report.order_violations == 0
    if guarantee == "exactly_once":
        twice = "\n".join(report.duplicates)
        assert report.duplicate_responses == 0, f"answered twice:\n{twice}\nlogged:\n{problems}"
        assert report.duplicate_effects == 0
        assert report.duplicate_audit == 0
    assert report.passed
