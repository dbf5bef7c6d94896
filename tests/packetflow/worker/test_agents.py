"""The agent builder: each item answered in order, inside the agent's transactions' life."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from packetflow.worker.agents import add_agent


class FakeApp:
    """Records the agent declared, as ``faust.App.agent`` would."""

    def __init__(self) -> None:
        self.declared: dict[str, Any] = {}

    def agent(self, topic: Any, *, name: str, concurrency: int) -> Callable[[Any], Any]:
        def declare(handle: Any) -> Any:
            self.declared[name] = (topic, concurrency, handle)
            return handle

        return declare


class FakeTransactions:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def start(self) -> None:
        self.log.append("start")

    async def stop(self) -> None:
        self.log.append("stop")


async def items(stream: list[int]) -> AsyncIterator[int]:
    for item in stream:
        yield item


def answerer(log: list[str]) -> Any:
    def make(sink: Any, tx: Any) -> Callable[[int], Coroutine[Any, Any, None]]:
        log.append(f"sink={sink} tx={'yes' if tx else 'no'}")

        async def answer(item: int) -> None:
            log.append(f"answer {item}")

        return answer

    return make


async def test_items_are_answered_in_order_between_the_start_and_stop_of_transactions() -> None:
    app, log = FakeApp(), []
    add_agent(
        app,  # type: ignore[arg-type]
        "hops",
        "packetflow.x",
        items,
        answerer(log),
        lambda: "S",  # type: ignore[arg-type, return-value]
        lambda: FakeTransactions(log),  # type: ignore[arg-type, return-value]
    )
    topic, concurrency, handle = app.declared["packetflow.x"]
    assert (topic, concurrency) == ("hops", 1)  # one at a time: a partition's order is kept
    await handle([1, 2, 3])
    assert log == ["sink=S tx=yes", "start", "answer 1", "answer 2", "answer 3", "stop"]


async def test_at_least_once_the_agent_has_no_transactions() -> None:
    app, log = FakeApp(), []
    add_agent(app, "hops", "a", items, answerer(log), lambda: "S", None)  # type: ignore[arg-type]
    await app.declared["a"][2]([7])
    assert log == ["sink=S tx=no", "answer 7"]
