"""A reactor applies each request at most once; a replay answers as the first time did."""

from __future__ import annotations

from typing import Any

import pytest

from packetflow.errors import ContractViolation
from packetflow.reactor import Emit, Reactor
from packetflow.reactor.state import MemoryStateStore, apply
from streams.counter import Increment, increment
from tests.packetflow.pipeline.test_process import Add, Tally

HANDLER = increment.reactor
assert HANDLER is not None


def test_a_replay_reports_the_version_and_effects_of_its_first_application() -> None:
    store = MemoryStateStore()
    first = apply(HANDLER, Increment(counter_id="c"), store, "r1", 128)
    apply(HANDLER, Increment(counter_id="c"), store, "r2", 128)
    replay = apply(HANDLER, Increment(counter_id="c"), store, "r1", 128)
    assert replay.replayed
    assert (replay.version, replay.result, replay.effects) == (1, first.result, first.effects)
    assert store.get("c")["version"] == 2  # not applied again


def test_a_replay_of_a_record_written_before_versions_were_kept_reports_the_current_one() -> None:
    store = MemoryStateStore()
    store.set("c", {"state": {"value": 1}, "version": 3, "applied": [["r1", {"value": 1}, []]]})
    replay = apply(HANDLER, Increment(counter_id="c"), store, "r1", 128)
    assert (replay.replayed, replay.version) == (True, 3)


class Changelogged(MemoryStateStore):
    """A store that also keeps what it would send to the changelog."""

    def __init__(self) -> None:
        super().__init__()
        self.changelog: list[tuple[str, dict[str, Any]]] = []

    def set(self, key: str, record: dict[str, Any]) -> None:
        super().set(key, record)
        self.changelog.append((key, record))


def test_a_replay_writes_its_key_s_record_again_for_a_changelog_that_missed_it() -> None:
    store = Changelogged()
    apply(HANDLER, Increment(counter_id="c"), store, "r1", 128)
    written = store.get("c")
    store.changelog.clear()  # the worker died after the local write, before the broker had it
    replay = apply(HANDLER, Increment(counter_id="c"), store, "r1", 128)
    assert replay.replayed
    assert store.changelog == [("c", written)]
    assert store.get("c") == written


tally = Reactor("tally", state=Tally, key="key")


@tally.intent(intent="Count one, emitting whatever the test puts in EMITTED", requires=Add)
def add(payload: Add, state: Tally) -> tuple[Tally, list[Emit]]:
    return Tally(count=state.count + 1), [Emit("added", dict(EMITTED))]


EMITTED: dict[str, Any] = {}


@pytest.mark.parametrize(
    "data",
    [{"when": object()}, {"ids": {1, 2}}, {"ratio": float("nan")}, {1: "int key"}],
    ids=["object", "set", "nan", "int-key"],
)
def test_an_effect_whose_data_is_not_json_is_a_contract_violation_and_changes_nothing(
    data: dict[Any, Any],
) -> None:
    store, handler = MemoryStateStore(), add.reactor
    assert handler is not None
    EMITTED.clear()
    apply(handler, Add(key="k"), store, "r1", 128)
    EMITTED.update(data)
    with pytest.raises(ContractViolation, match="effects must be JSON"):
        apply(handler, Add(key="k"), store, "r2", 128)
    assert store.get("k") == {
        "state": {"count": 1},
        "version": 1,
        "applied": [["r1", {"count": 1}, [{"kind": "added", "data": {}}], 1]],
    }


def test_a_hot_key_redelivered_past_its_id_log_is_not_applied_again() -> None:
    store = MemoryStateStore()
    stream = "packetflow.requests:3"
    firsts = [
        apply(HANDLER, Increment(counter_id="hot"), store, f"r{n}", 128, (stream, 1000 + n))
        for n in range(300)
    ]
    replays = [
        apply(HANDLER, Increment(counter_id="hot"), store, f"r{n}", 128, (stream, 1000 + n))
        for n in range(300)
    ]
    assert store.get("hot")["version"] == 300
    assert store.get("hot")["state"] == firsts[-1].result
    assert all(r.replayed and not r.effects for r in replays[:172])  # out of the id log
    assert [r.version for r in replays[:172]] == [300] * 172  # the state as it is now
    assert [(r.version, r.result) for r in replays[172:]] == [
        (f.version, f.result) for f in firsts[172:]
    ]


def test_without_a_source_only_the_id_log_recognizes_a_redelivery() -> None:
    store = MemoryStateStore()
    for n in range(200):
        apply(HANDLER, Increment(counter_id="c"), store, f"r{n}", 128)
    again = apply(HANDLER, Increment(counter_id="c"), store, "r0", 128)
    assert (again.replayed, again.version) == (False, 201)  # why hops name their source


def test_each_stream_is_marked_on_its_own() -> None:
    store = MemoryStateStore()
    apply(HANDLER, Increment(counter_id="c"), store, "a9", 128, ("requests:0", 9))
    other = apply(HANDLER, Increment(counter_id="c"), store, "b3", 128, ("requests:1", 3))
    behind = apply(HANDLER, Increment(counter_id="c"), store, "a4", 128, ("requests:0", 4))
    assert (other.replayed, other.version) == (False, 2)
    assert (behind.replayed, behind.version) == (True, 2)
    assert store.get("c")["sources"] == {"requests:0": 9, "requests:1": 3}


def test_a_request_without_a_source_keeps_the_marks_of_the_others() -> None:
    store = MemoryStateStore()
    apply(HANDLER, Increment(counter_id="c"), store, "a9", 128, ("requests:0", 9))
    apply(HANDLER, Increment(counter_id="c"), store, "x", 128)
    again = apply(HANDLER, Increment(counter_id="c"), store, "a8", 128, ("requests:0", 8))
    assert (again.replayed, store.get("c")["version"]) == (True, 2)
