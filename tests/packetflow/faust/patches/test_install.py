"""``install``: every patch applied when Faust builds its services, one service placed right after
the producer, and a warning on versions the patches were not tested on."""

from __future__ import annotations

import logging
from typing import Any

import faust
import mode
import pytest

from packetflow.faust.patches import TESTED, install
from packetflow.faust.patches import versions as patch_versions
from packetflow.metrics import Metrics


class Resends:
    async def settle(self) -> None:
        pass


class Declare(mode.Service):
    """A service that must start right after the producer."""


def patched(exactly_once: bool = False, **options: Any) -> tuple[Any, list[Any]]:
    app = faust.App("install-test", broker="kafka://127.0.0.1:1", **options)  # never connected
    declared: list[Any] = []

    def after_producer() -> Declare:
        declared.append(Declare())
        return declared[-1]

    install(
        app,
        exactly_once=exactly_once,
        resends=Resends(),
        metrics=Metrics(),
        after_producer=after_producer,
    )
    return app, declared


def test_the_consumer_is_patched_when_faust_builds_its_services() -> None:
    app, declared = patched()
    services = list(app.on_init_dependencies())
    consumer = app.consumer
    assert consumer.ack.packetflow_guard
    assert consumer.packetflow_offsets.new_offset == consumer._new_offset
    assert consumer._commit_offsets.packetflow_resends
    assert not hasattr(consumer, "packetflow_gaps")  # at least once: no gaps recorded
    at = services.index(app.producer)
    assert services[at + 1] is declared[0]
    assert len(services) == len(declared) + len(list(faust.App.on_init_dependencies(app)))


def timers(app: Any) -> list[str]:
    """The qualified names of the functions ``app``'s timers run."""
    return [task.__wrapped__.__wrapped__.__qualname__ for task in app._app_tasks]


def test_at_least_once_watches_for_skipped_records() -> None:
    app, _ = patched()
    assert [name.split(".")[0] for name in timers(app)] == ["watch_rereads"]


def test_exactly_once_reads_committed_and_leaves_commits_to_the_transactions() -> None:
    app, _ = patched(exactly_once=True)
    app.on_init_dependencies()
    consumer = app.consumer
    assert consumer._thread._create_consumer.packetflow_read_committed
    assert consumer.packetflow_gaps.sought is consumer.packetflow_offsets.sought  # seeks seen live
    assert consumer._new_offset is not consumer.packetflow_offsets.new_offset
    assert timers(app) == []


def test_an_app_that_only_produces_is_not_patched() -> None:
    app, declared = patched()
    app.producer_only = True
    services = list(app.on_init_dependencies())
    assert declared  # its topics are still declared
    assert not getattr(app.consumer.ack, "packetflow_guard", False)
    assert services[services.index(app.producer) + 1] is declared[0]


def test_installing_twice_builds_the_services_once() -> None:
    app, declared = patched()
    install(app, exactly_once=False, resends=Resends(), metrics=Metrics())
    app.on_init_dependencies()
    assert len(declared) == 1


def test_an_untested_version_is_warned_about(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(patch_versions, "installed", lambda name: "9.9.9")
    with caplog.at_level(logging.WARNING, logger="packetflow.faust"):
        patched()
    assert "faust-streaming 9.9.9 is installed" in caplog.text
    assert "tested on 0.15.3" in caplog.text


def test_the_installed_versions_are_the_tested_ones() -> None:
    """Fails after an upgrade of Faust, mode or aiokafka until the patches are checked against
    it and :data:`TESTED` is updated (docs/development.md, "Upgrading Faust")."""
    assert patch_versions.untested() == {}, f"tested on {TESTED}"
