"""Hop records held per topic-partition until their bundle is full or has lingered long enough.

A Faust agent pays its per-record cost once per bundle
(:mod:`packetflow.hops.bundle`), so the fewer bundles carry the same hops,
the more requests a reactor answers. Within one batch of the request loop the
hops bound for one partition always share a bundle. Under a steady offered
load those batches hold a few requests each; the request loop then keeps a
partition's bundle open across batches, for at most ``linger`` seconds after
its first hop (``PACKETFLOW_HOP_LINGER_MS``), as Kafka's producer holds a
batch for ``linger.ms``. A bundle that reaches ``bundle`` hops or
:data:`~packetflow.hops.bundle.BUNDLE_BYTES` is written at once.

A held bundle carries the future of its delivery, made when a batch is
handed over while some of its hops wait here: that batch's commit waits for
it as for its other records (:mod:`.commits`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from packetflow.hops.bundle import BUNDLE_BYTES, framed_size, pack
from packetflow.records import Outbound

__all__ = ["HeldHops", "HopBundle"]

TopicPartition = tuple[str, int]


@dataclass(slots=True)
class HopBundle:
    """Hops held for one topic-partition, in order, to be written as one record."""

    since: float
    records: list[Outbound] = field(default_factory=list)
    size: int = 0
    written: asyncio.Future[None] | None = None

    def record(self, partition: int) -> Outbound:
        """The bundle of the held hops (a lone hop as it is)."""
        return self.records[0] if len(self.records) == 1 else pack(self.records, partition)

    def delivery(self) -> asyncio.Future[None]:
        """Resolved once the bundle is on the broker (refused: its exception)."""
        if self.written is None:
            self.written = asyncio.get_running_loop().create_future()
        return self.written


class HeldHops:
    """Open bundles by topic-partition; ``bundle`` hops at most per bundle.

    With ``linger`` 0 every bundle is due as soon as it is opened, so a writer
    using it bundles only the hops of its own batch.
    """

    def __init__(
        self, bundle: int, linger: float = 0.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.bundle = bundle
        self.linger = linger
        self._clock = clock
        self._open: dict[TopicPartition, HopBundle] = {}

    def __len__(self) -> int:
        return len(self._open)

    def add(self, tp: TopicPartition, hop: Outbound) -> HopBundle | None:
        """Hold ``hop``; returns its partition's bundle if that was full and is now closed
        (it must be written before any later bundle of the partition)."""
        size = framed_size(hop)
        held = self._open.get(tp)
        closed = None
        if held is not None and (
            len(held.records) >= self.bundle or held.size + size > BUNDLE_BYTES
        ):
            closed, held = held, None
        if held is None:
            held = self._open[tp] = HopBundle(since=self._clock())
        held.records.append(hop)
        held.size += size
        return closed

    def held(self, tp: TopicPartition) -> HopBundle | None:
        """The open bundle of ``tp``, if any."""
        return self._open.get(tp)

    def due(self, everything: bool = False) -> list[tuple[TopicPartition, HopBundle]]:
        """Close and return the bundles that have lingered long enough (all: ``everything``)."""
        now = self._clock()
        ready = [
            (tp, held)
            for tp, held in self._open.items()
            if everything or now - held.since >= self.linger
        ]
        for tp, _ in ready:
            del self._open[tp]
        return ready

    def wait(self) -> float | None:
        """Seconds until the next bundle is due (0 if one is); None when nothing is held."""
        if not self._open:
            return None
        oldest = min(held.since for held in self._open.values())
        return max(0.0, oldest + self.linger - self._clock())
