"""A reactor batch's answers go out in order, each after the state it reports, in bounded
chunks."""

from __future__ import annotations

from packetflow.reactor.agent import answer_batch
from packetflow.records import Outbound


def answers(event: int, count: int) -> list[Outbound]:
    return [Outbound("t.responses", f"{event}-{n}".encode(), b"{}") for n in range(count)]


async def test_answers_go_out_in_order_in_chunks_each_after_its_events_are_applied() -> None:
    log: list[str] = []
    delivered: list[list[bytes | None]] = []

    async def apply(event: int) -> list[Outbound]:
        log.append(f"apply {event}")
        return answers(event, 3)

    async def deliver(outputs: list[Outbound]) -> None:
        log.append(f"deliver {len(outputs)}")
        delivered.append([o.key for o in outputs])

    await answer_batch(range(7), apply, deliver, chunk=5)
    assert log == [
        "apply 0",
        "apply 1",
        "deliver 6",
        "apply 2",
        "apply 3",
        "deliver 6",
        "apply 4",
        "apply 5",
        "deliver 6",
        "apply 6",
        "deliver 3",
    ]
    assert [key for chunk in delivered for key in chunk] == [
        f"{e}-{n}".encode() for e in range(7) for n in range(3)
    ]


async def test_a_small_batch_is_delivered_once_at_its_end() -> None:
    delivered: list[int] = []

    async def apply(event: int) -> list[Outbound]:
        return answers(event, 2)

    async def deliver(outputs: list[Outbound]) -> None:
        delivered.append(len(outputs))

    await answer_batch(range(3), apply, deliver)
    assert delivered == [6]


async def test_answers_go_out_early_when_a_key_is_about_to_outrun_its_id_log() -> None:
    writes = {"hot": 0}
    delivered: list[int] = []

    async def apply(event: int) -> list[Outbound]:
        writes["hot"] += 1
        return answers(event, 1)

    async def deliver(outputs: list[Outbound]) -> None:
        delivered.append(len(outputs))
        writes["hot"] = 0  # the changelog records are taken with the answers

    await answer_batch(range(10), apply, deliver, chunk=1000, full=lambda: writes["hot"] >= 4)
    assert delivered == [4, 4, 2]
