"""Hops held across batches: a bundle is written once full or once it has lingered long enough."""

from __future__ import annotations

from packetflow.hops.bundle import BUNDLE_BYTES
from packetflow.kafka.linger import HeldHops
from packetflow.records import Outbound

TP = ("t.reactor.r", 0)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def hop(n: int, size: int = 10) -> Outbound:
    return Outbound("t.reactor.r", b"k", f"{n:0{size}d}".encode(), (), kind="hop")


def test_a_bundle_is_due_only_once_its_first_hop_has_lingered() -> None:
    clock = Clock()
    hops = HeldHops(100, linger=0.010, clock=clock)
    hops.add(TP, hop(1))
    clock.now += 0.006
    hops.add(TP, hop(2))
    assert hops.due() == []
    clock.now += 0.004
    [(tp, bundle)] = hops.due()
    assert tp == TP
    assert [h.value for h in bundle.records] == [b"0000000001", b"0000000002"]
    assert len(hops) == 0


def test_wait_says_how_long_until_the_oldest_bundle_is_due() -> None:
    clock = Clock()
    hops = HeldHops(100, linger=0.010, clock=clock)
    assert hops.wait() is None
    hops.add(TP, hop(1))
    clock.now += 0.003
    hops.add(("t.reactor.r", 1), hop(2))
    assert abs((hops.wait() or 0) - 0.007) < 1e-9
    clock.now += 0.050
    assert hops.wait() == 0.0


def test_everything_closes_every_bundle_however_young() -> None:
    hops = HeldHops(100, linger=60.0, clock=Clock())
    hops.add(TP, hop(1))
    hops.add(("t.reactor.r", 1), hop(2))
    assert sorted(tp for tp, _ in hops.due(everything=True)) == [TP, ("t.reactor.r", 1)]
    assert hops.wait() is None


def test_a_full_bundle_is_closed_by_the_next_hop_which_opens_a_new_one() -> None:
    hops = HeldHops(2, linger=60.0, clock=Clock())
    assert hops.add(TP, hop(1)) is None
    assert hops.add(TP, hop(2)) is None
    closed = hops.add(TP, hop(3))
    assert closed is not None
    assert [h.value for h in closed.records] == [b"0000000001", b"0000000002"]
    open_now = hops.held(TP)
    assert open_now is not None
    assert [h.value for h in open_now.records] == [b"0000000003"]


def test_a_bundle_never_passes_its_byte_limit() -> None:
    hops = HeldHops(1_000, linger=60.0, clock=Clock())
    closed = [hops.add(TP, hop(n, size=BUNDLE_BYTES // 3)) for n in range(4)]
    assert [c is not None for c in closed] == [False, False, True, False]  # two fit, not three


def test_with_no_linger_every_bundle_is_due_at_once() -> None:
    hops = HeldHops(100)
    hops.add(TP, hop(1))
    assert len(hops.due()) == 1
