"""Keep the objects that live as long as the worker out of the collector's passes."""

from __future__ import annotations

import ctypes
import gc
import logging

__all__ = ["YOUNG_GENERATION", "freeze_startup_heap", "release_free_heap"]

log = logging.getLogger("packetflow.worker")

YOUNG_GENERATION = 50_000
"""Net allocations of container objects between two collections of the youngest generation
(Python's default: 700).

The records of the batches awaiting the broker's acknowledgement outlive a
small young generation: the collector walked them again and again and moved
them to the older generations, whose collections walked them once more. A
larger young generation saves that CPU without moving tail latency
(measured in ``docs/benchmarks-history.md``).
"""


def freeze_startup_heap() -> int:
    """Move every object alive once the worker has started to the permanent generation.

    Modules, the Faust app, the registry and its models live as long as the
    process; Python's full (generation 2) collection would otherwise walk all of
    them each time it runs, pausing the event loop for tens of milliseconds,
    several times a minute under load. A full collection then
    walks only what was allocated since. The memory start-up freed goes back to
    the operating system (glibc's ``malloc_trim``, where there is one), and the
    youngest generation is collected every :data:`YOUNG_GENERATION` net
    allocations from then on. Returns how many objects were frozen.
    """
    gc.collect()  # garbage is freed first, not kept forever
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION, *gc.get_threshold()[1:])
    release_free_heap()
    frozen = gc.get_freeze_count()
    log.info("%d objects alive at start-up frozen out of full collections", frozen)
    return frozen


def release_free_heap() -> bool:
    """Return the C heap's free pages to the operating system; False where libc cannot."""
    # the process's own symbols: no library search (find_library runs ldconfig)
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is None:  # not glibc (musl, macOS)
        return False
    trim(0)
    return True
