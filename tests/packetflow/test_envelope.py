"""Record ids and timestamps the worker stamps on what it writes."""

from __future__ import annotations

import multiprocessing
import re
import time
from datetime import UTC, datetime

from packetflow.envelope import new_id, now_iso


def test_ids_are_32_hex_characters_and_never_repeat() -> None:
    ids = [new_id() for _ in range(10_000)]
    assert all(re.fullmatch("[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def _child_ids(queue: multiprocessing.Queue[list[str]]) -> None:
    queue.put([new_id() for _ in range(100)])


def test_a_forked_worker_does_not_repeat_its_parents_ids() -> None:
    ctx = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[list[str]] = ctx.Queue()
    child = ctx.Process(target=_child_ids, args=(queue,))
    child.start()
    theirs = queue.get(timeout=30)
    child.join(timeout=30)
    ours = [new_id() for _ in range(100)]
    assert not set(ours) & set(theirs)


def test_timestamps_are_utc_iso_with_milliseconds_and_follow_the_clock() -> None:
    before = datetime.now(UTC)
    stamps = []
    for _ in range(3):
        stamps.append(now_iso())
        time.sleep(0.6)  # crosses at least one whole second: the cached part must move on
    after = datetime.now(UTC)
    parsed = [datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC) for s in stamps]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", s) for s in stamps)
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= parsed[0]
    assert parsed == sorted(parsed)
    assert parsed[-1] <= after
    assert (parsed[-1] - parsed[0]).total_seconds() >= 1.1
