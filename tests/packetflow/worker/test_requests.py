"""The request loop's consumer: how long the broker may hold a fetch."""

from __future__ import annotations

from packetflow.settings import Settings
from packetflow.worker.requests import FETCH_MIN_BYTES, fetch_options


def test_by_default_the_broker_answers_a_fetch_as_soon_as_a_request_is_there() -> None:
    assert fetch_options(Settings()) == {"fetch_min_bytes": 1}


def test_a_fetch_wait_lets_the_broker_gather_requests_for_that_long() -> None:
    assert fetch_options(Settings(fetch_wait_ms=20)) == {
        "fetch_min_bytes": FETCH_MIN_BYTES,
        "fetch_max_wait_ms": 20,
    }
