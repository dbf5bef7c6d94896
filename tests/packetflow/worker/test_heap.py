"""Objects alive at start-up are left out of full collections; later garbage is still freed."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import psutil
import pytest

from packetflow.worker.heap import YOUNG_GENERATION, freeze_startup_heap, release_free_heap


class Node:
    """Something a reference cycle can be made of."""

    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def unfrozen() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def young_collections() -> int:
    return int(gc.get_stats()[0]["collections"])


def dropped_cycle() -> weakref.ref[Node]:
    """A reference cycle no one holds any more, and a weak reference to watch it go."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.mark.usefixtures("unfrozen")
def test_a_full_collection_no_longer_walks_what_was_alive_at_start_up() -> None:
    tracked_before = len(gc.get_objects())
    frozen = freeze_startup_heap()
    assert frozen >= tracked_before // 2
    assert len(gc.get_objects()) < tracked_before // 10  # what a full collection walks


@pytest.mark.usefixtures("unfrozen")
def test_cycles_made_after_start_up_are_still_collected() -> None:
    freeze_startup_heap()
    gone = dropped_cycle()
    gc.collect()
    assert gone() is None


@pytest.mark.usefixtures("unfrozen")
def test_objects_kept_a_while_are_not_walked_by_a_young_collection_every_700() -> None:
    freeze_startup_heap()
    before = young_collections()
    kept = [[n] for n in range(YOUNG_GENERATION // 2)]  # like records awaiting their acks
    assert young_collections() == before
    assert len(kept) == YOUNG_GENERATION // 2


@pytest.mark.usefixtures("unfrozen")
def test_cycles_are_still_collected_without_being_asked_for() -> None:
    freeze_startup_heap()
    gone = dropped_cycle()
    before = young_collections()
    churn = [[n] for n in range(2 * YOUNG_GENERATION)]
    assert young_collections() > before
    assert gone() is None
    assert len(churn) == 2 * YOUNG_GENERATION


@pytest.mark.usefixtures("unfrozen")
def test_garbage_alive_at_start_up_is_freed_not_frozen() -> None:
    gc.disable()  # no automatic collection frees the cycle first
    try:
        gone = dropped_cycle()
        freeze_startup_heap()
    finally:
        gc.enable()
    assert gone() is None


def test_memory_freed_between_live_blocks_goes_back_to_the_operating_system() -> None:
    process = psutil.Process()
    blocks = [bytes(4000) + bytes([n % 256]) for n in range(20_000)]  # ~80 MB, C heap
    kept = blocks[::16]  # pins the heap's top: freeing the rest cannot shrink it by itself
    del blocks
    before = process.memory_info().rss
    assert release_free_heap()
    after = process.memory_info().rss
    assert before - after > 40 * 2**20, (before, after)
    assert len(kept) == 1_250
