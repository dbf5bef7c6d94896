"""Exactly once: the offsets Faust's fetch loop passes over are recorded, not filled in."""

from __future__ import annotations

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
