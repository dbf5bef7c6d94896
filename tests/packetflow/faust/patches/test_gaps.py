"""Exactly once: the offsets Faust's fetch loop passes over are recorded, not filled in."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace
from typing import Any

import faust
from faust.types import TP

from packetflow.faust.patches import FetchGaps, fetch_gaps
from packetflow.faust.patches.gaps import record_gaps

HOPS = TP("t.reactor.counter", 1)


async def test_gaps_cover_a_hole_only_when_every_offset_of_it_was_passed_over() -> None:
    gaps = FetchGaps()
    await gaps.add(HOPS, 10, 12)
    await gaps.add(HOPS, 12, 13)
    assert gaps.covers(HOPS, 10, 13)
    assert gaps.covers(HOPS, 11, 12)
    assert not gaps.covers(HOPS, 9, 12)  # 9 was delivered, or never seen
    assert not gaps.covers(HOPS, 10, 14)
    assert not gaps.covers(TP("t.reactor.counter", 2), 10, 12)


async def test_faust_s_consumer_reports_its_gaps_to_the_recorder() -> None:
    app = faust.App("gaps-test", broker="kafka://127.0.0.1:1")  # never connected
    gaps = record_gaps(app)
    await app.consumer._add_gap(HOPS, 41, 42)  # as Faust's fetch loop does past a marker
    assert fetch_gaps(app) is gaps
    assert gaps.covers(HOPS, 41, 42)
    assert app.consumer._new_offset(HOPS) is None  # nothing filled in as if acked


async def test_records_fetched_and_never_delivered_are_no_gap() -> None:
    # Faust's getmany skips records of a partition not active at that moment, and the rest
    # of a batch once the flow stops; its read offset stays behind them, so the next
    # delivered record reports a "gap" over them (a run lost hops 706 and 708 so)
    gaps = FetchGaps()
    gaps.fetched(HOPS, [706, 708, 710])
    gaps.delivered(HOPS, 710)
    await gaps.add(HOPS, 705, 710)  # 705, 707, 709: commit markers; 706, 708: dropped
    assert not gaps.covers(HOPS, 705, 710)  # the hole is read, the commit held before it
    assert gaps.covers(HOPS, 705, 706)
    assert gaps.covers(HOPS, 709, 710)
    await gaps.add(HOPS, 711, 712)  # pending offsets below a gap's end are forgotten
    assert gaps.covers(HOPS, 711, 712)


def fetching_app(*offsets: int) -> tuple[faust.App, list[int], asyncio.Event]:
    """An app whose consumer fetches ``offsets`` of HOPS, and whose callback records what it
    is handed, or blocks forever on offset 708 (a full stream buffer)."""
    app = faust.App("gaps-test", broker="kafka://127.0.0.1:1")  # never connected
    handed: list[int] = []
    waiting = asyncio.Event()

    async def wait_next_records(timeout: float) -> tuple[Any, Any]:
        batch = [SimpleNamespace(offset=o) for o in offsets]
        return {HOPS: batch}, {HOPS}

    async def callback(message: Any) -> None:
        if message.offset == 708:
            waiting.set()
            await asyncio.Event().wait()
        handed.append(message.offset)

    app.consumer._wait_next_records = wait_next_records
    app.consumer.callback = callback
    app.topics.acks_enabled_for = lambda topic: topic == HOPS.topic  # type: ignore[method-assign]
    return app, handed, waiting


def message(offset: int) -> Any:
    return SimpleNamespace(topic=HOPS.topic, partition=HOPS.partition, offset=offset)


async def test_faust_s_consumer_reports_what_it_fetched_and_delivered() -> None:
    app, handed, _ = fetching_app(706, 708, 710)
    gaps = record_gaps(app)
    await app.consumer._wait_next_records(1.0)
    await app.consumer.callback(message(710))  # 706 skipped: its partition was not active
    await app.consumer._add_gap(HOPS, 705, 710)
    assert handed == [710]
    assert not gaps.covers(HOPS, 705, 710)
    assert not gaps.covers(HOPS, 706, 707)


async def test_a_delivery_cancelled_while_it_waits_for_room_is_no_delivery() -> None:
    app, _, waiting = fetching_app(708)
    gaps = record_gaps(app)
    await app.consumer._wait_next_records(1.0)
    delivery = asyncio.ensure_future(app.consumer.callback(message(708)))
    await waiting.wait()  # the callback waits for room in the stream's buffer
    delivery.cancel()  # what wait_first does when the flow is suspended first
    with contextlib.suppress(asyncio.CancelledError):
        await delivery
    await app.consumer._add_gap(HOPS, 707, 709)
    assert not gaps.covers(HOPS, 707, 709)
