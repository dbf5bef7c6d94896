"""An agent's partitions followed event by event: holes the fetch loop does not account for."""

from __future__ import annotations

from faust.types import TP

from packetflow.faust.patches import FetchGaps
from packetflow.worker.holes import Continuity

HOPS = TP("t.reactor.counter", 1)


async def test_a_hole_after_the_sought_offset_or_the_last_event_is_noted_once() -> None:
    gaps = FetchGaps({HOPS: (1, 15)})
    await gaps.add(HOPS, 21, 22)
    seen = Continuity(gaps)
    seen.see(HOPS, 17, generation=1)  # 15-16: nothing delivered since the seek
    seen.see(HOPS, 18, generation=1)
    seen.see(HOPS, 20, generation=1)  # 19: not passed over by the fetch loop
    seen.see(HOPS, 22, generation=1)  # 21: a marker it passed over
    assert seen.holes == [(HOPS, 15, 17), (HOPS, 19, 20)]
    assert seen.first == {HOPS: 15}  # an aborted chunk reads the first hole again


async def test_a_rebalance_starts_each_partition_again_where_it_was_sought() -> None:
    sought = {HOPS: (1, 15)}
    seen = Continuity(FetchGaps(sought))
    seen.see(HOPS, 15, generation=1)
    seen.chunk_done()
    sought[HOPS] = (2, 30)  # sought there at the next rebalance (another worker went on)
    seen.see(HOPS, 30, generation=2)
    assert seen.holes == []


def test_an_event_of_a_generation_whose_seek_is_not_known_yet_is_a_start_not_a_hole() -> None:
    seen = Continuity(FetchGaps({HOPS: (1, 0)}))  # sought in generation 1 only
    seen.see(HOPS, 181, generation=2)  # after a broker restart, the seek still asking
    assert seen.holes == []
    seen.see(HOPS, 183, generation=2)  # from there on, followed
    assert seen.holes == [(HOPS, 182, 183)]


async def test_a_gap_faust_reports_from_a_seek_position_covers_nothing() -> None:
    # Faust's fetch loop counts a gap from its read offset, which a seek sets: a record it
    # fetched before the seek (757) makes a "gap" over records never read at all (673-756)
    sought = {HOPS: (5, 672)}
    gaps = FetchGaps(sought)
    await gaps.add(HOPS, 672, 673)  # a marker (672) passed over before the rebalance: real
    await gaps.add(HOPS, 673, 757)  # from read offset 672, which the seek set: not a gap
    seen = Continuity(gaps)
    seen.see(HOPS, 757, generation=5)
    assert seen.holes == [(HOPS, 672, 757)]  # read, and the commit held if it holds records
    assert gaps.covers(HOPS, 672, 673)
