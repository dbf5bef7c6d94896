"""Reactors in a worker: a topic, a state table and window tables per reactor, one agent each.

The agent takes a batch of records (hops, or bundles of hops): those that have
arrived, without waiting for more (:func:`~packetflow.faust.patches.take_ready`),
so that batches grow with the load while a quiet reactor answers at once. It applies each
request to the table (one writer per key: the worker owning the partition),
sends the changelog records of those writes and waits until the broker has
them and the previous chunk's answers (:mod:`.changelog`), and only then
publishes the responses and effects: every ``ANSWERS_PER_FLUSH`` answers, as
soon as one key has taken as many writes as its id log keeps, and at the end of
the batch. Offsets are committed after that, by Faust. A batch that fails or is
cut short ends the process (:mod:`packetflow.worker.halt`): Faust would ack and
commit it anyway.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from datetime import timedelta
from typing import Any

import faust
from faust.exceptions import SameNode

from packetflow.capability import Capability
from packetflow.faust.patches import as_current, take_ready
from packetflow.kafka.batches import Sent
from packetflow.kafka.records import raw_record
from packetflow.pipeline.process import Processor
from packetflow.reactor.changelog import TableStore, changes_first, deliver_after_changelog
from packetflow.reactor.declare import Reactor, ReactorHandler, Window
from packetflow.reactor.state import read
from packetflow.reactor.step import ReactorRuntime, window_counts
from packetflow.records import Outbound
from packetflow.settings import Settings
from packetflow.worker.agent_transactions import AgentTransactions
from packetflow.worker.agents import Answerer, add_agent
from packetflow.worker.message import raw_topic
from packetflow.worker.sink import BatchSink

__all__ = ["answer_batch", "reactors_of", "wire_reactors"]

ANSWERS_PER_FLUSH = 1000
"""A batch's answers go out (after their changelog records) whenever this many are ready."""


def reactors_of(capabilities: Iterable[Capability]) -> dict[str, Reactor]:
    """The reactors the capabilities are bound to, by name."""
    found: dict[str, Reactor] = {}
    for cap in capabilities:
        if cap.reactor is not None:
            found[cap.reactor.reactor.name] = cap.reactor.reactor
    return found


class TableWindows:
    """Windowed counts on tumbling or hopping Faust tables, one per reactor window."""

    def __init__(self) -> None:
        self.tables: dict[tuple[str, str], Any] = {}

    def create(self, app: faust.App, reactor: str, window: Window, partitions: int) -> None:
        """Declare the windowed table of ``window``."""
        table = app.Table(
            f"reactor-{reactor}-{window.name}",
            default=int,
            partitions=partitions,
        )
        size, expires = timedelta(seconds=window.size), timedelta(seconds=window.expires)
        if window.hop is None:
            windowed = table.tumbling(size, expires=expires)
        else:
            windowed = table.hopping(size, timedelta(seconds=window.hop), expires=expires)
        self.tables[(reactor, window.name)] = windowed.relative_to_stream()

    def add(self, reactor: str, window: Window, key: str) -> None:
        """See :class:`~packetflow.reactor.step.WindowCounter`."""
        self.tables[(reactor, window.name)][key] += 1

    def current(self, reactor: str, window: Window, key: str) -> int:
        """See :class:`~packetflow.reactor.step.WindowCounter` (wall clock outside a stream)."""
        return int(self.tables[(reactor, window.name)][key].now())


async def answer_batch(
    events: Iterable[Any],
    apply: Callable[[Any], Awaitable[list[Outbound]]],
    deliver: Callable[[list[Outbound]], Awaitable[None]],
    chunk: int = ANSWERS_PER_FLUSH,
    full: Callable[[], bool] = lambda: False,
) -> None:
    """Apply each event in order; deliver the answers whenever ``chunk`` are ready or
    ``full()`` says so, and the rest at the end (a batch of bundles can hold thousands of
    requests)."""
    outputs: list[Outbound] = []
    for event in events:
        outputs += await apply(event)
        if len(outputs) >= chunk or full():
            await deliver(outputs)
            outputs = []
    await deliver(outputs)


def reactor_runtime(
    app: faust.App, settings: Settings, reactors: dict[str, Reactor]
) -> tuple[ReactorRuntime, dict[str, TableStore]]:
    """The runtime backed by one table per reactor (and per window), and its stores."""
    windows = TableWindows()
    stores: dict[str, TableStore] = {}
    for name, reactor in reactors.items():
        table = app.Table(
            f"reactor-{name}",
            default=None,
            partitions=settings.kafka.partitions,
            key_type=bytes,  # raw keys: the router hashes them as the reactor topic does
            help=f"state of reactor {name}",
        )
        stores[name] = TableStore(table, settings.reactors.cache_bytes)
        for window in reactor.windows:
            windows.create(app, name, window, settings.kafka.partitions)
    runtime = ReactorRuntime(dict(stores), windows, settings.reactors.dedup_window)
    return runtime, stores


def _answerer(
    app: faust.App,
    settings: Settings,
    processor: Processor,
    store: TableStore,
    windowed: bool,
) -> Answerer:
    """How one reactor's agent answers a batch of events (see the module doc)."""

    def answerer(
        outputs_sink: BatchSink, tx: AgentTransactions | None
    ) -> Callable[[list[Any]], Coroutine[Any, Any, None]]:
        flush = app.producer.flush if windowed else None  # window counts go through Faust

        async def apply(event: Any) -> list[Outbound]:
            if tx is not None and not await tx.admit(event):
                return []  # read again after the rebalance it asked for
            as_current(event)
            return await processor.handle_hop(raw_record(event.message), "reactor")

        before: list[Sent | None] = [None]  # the last chunk's answers, awaited before the next

        async def deliver(outputs: list[Outbound]) -> None:
            if tx is not None:  # exactly once: see packetflow.worker.agent_transactions
                await changes_first(store, outputs_sink, flush)
                await tx.commit(outputs)
                return
            sent = await deliver_after_changelog(outputs, store, outputs_sink, flush, before[0])
            before[0] = sent

        def full() -> bool:  # a key's next write would push this chunk's first from its log
            return store.busiest >= settings.reactors.dedup_window

        async def answer(events: list[Any]) -> None:
            await answer_batch(events, apply, deliver, full=full)

        return answer

    return answerer


def wire_reactors(
    app: faust.App,
    settings: Settings,
    reactors: dict[str, Reactor],
    stores: dict[str, TableStore],
    processor: Processor,
    sink: Callable[[], BatchSink],
    transactions: Callable[[str], AgentTransactions] | None = None,
) -> list[Any]:
    """One topic and one agent per reactor, and ``GET /reactors/{name}/{key}``; returns the
    topics (created early, see :mod:`packetflow.worker.declare`)."""
    topics: list[Any] = []
    for name, reactor in reactors.items():
        topic = raw_topic(app, settings.kafka.topics.reactor(name), settings.kafka.partitions)
        topics.append(topic)
        loop = f"reactor.{name}"
        tx = functools.partial(transactions, loop) if transactions is not None else None
        answerer = _answerer(app, settings, processor, stores[name], bool(reactor.windows))
        batches = settings.reactors.batch

        def take(stream: Any, batches: int = batches) -> AsyncIterator[Any]:
            return take_ready(stream, batches)

        add_agent(app, topic, f"packetflow.reactor.{name}", take, answerer, sink, tx)

    @app.page("/reactors/{name}/{key}")
    async def state_page(web: Any, request: Any, name: str, key: str) -> Any:
        reactor = reactors.get(name)
        if reactor is None:
            return web.json({"error": f"no reactor {name!r}"}, status=404)
        table = stores[name].table
        if app.rebalancing or app.in_recovery:  # ownership or local state is moving
            return web.json({"error": "rebalancing, retry shortly"}, status=503)
        try:
            return await app.router.route_req(table.name, key.encode(), web, request)
        except SameNode:
            pass
        handler = ReactorHandler(reactor, "query", lambda p, s: s)
        record = table.get(key.encode())
        body = {
            "reactor": name,
            "key": key,
            "state": read(handler, record).model_dump(mode="json"),
            "version": record["version"] if record else 0,
            "windows": window_counts(handler, key, processor.reactors),
            "worker": settings.kafka.worker_id,
        }
        return web.json(body)

    return topics
