"""Faust's consumer with the broker under it faked, for the patches' unit tests: records as the
consumer hands them to a stream, and the broker calls it makes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from faust.types import TP
from faust.types.tuples import ConsumerMessage

__all__ = ["FaustBroker", "consumer_message"]


@dataclass
class FaustBroker:
    """What Faust's consumer learns from and asks of the broker: committed offsets, read
    positions, first offsets, and the seeks it makes (each moves the position)."""

    committed: dict[TP, int | None] = field(default_factory=dict)
    positions: dict[TP, int] = field(default_factory=dict)
    earliest: dict[TP, int] = field(default_factory=dict)
    seeks: list[tuple[TP, int]] = field(default_factory=list)

    def serve(self, consumer: Any) -> None:
        """Answer ``consumer``'s broker calls (before PacketFlow wraps any of them)."""
        consumer.seek_to_committed = self.seek_to_committed
        consumer.position = self.position
        consumer.earliest_offsets = self.earliest_offsets
        consumer._seek = self.seek  # Consumer.seek: the broker's seek, then the read offset

    async def seek_to_committed(self) -> dict[TP, int | None]:
        return dict(self.committed)

    async def position(self, tp: TP) -> int:
        return self.positions[tp]

    async def earliest_offsets(self, *tps: TP) -> dict[TP, int]:
        return {tp: self.earliest[tp] for tp in tps}

    async def seek(self, tp: TP, offset: int) -> None:
        self.seeks.append((tp, offset))
        self.positions[tp] = offset


def consumer_message(tp: TP, offset: int, generation: int | None = 3) -> ConsumerMessage:
    """A record of ``tp`` as Faust's consumer hands it to a stream, in consumer ``generation``."""
    return ConsumerMessage(
        tp.topic, tp.partition, offset, 0.0, 0, [], b"key", b"value", None, 3, 5, tp,
        generation_id=generation,
    )  # fmt: skip
