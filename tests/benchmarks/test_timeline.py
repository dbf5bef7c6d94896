"""A call's timeline from the stamps its records carry: stages cut where they were made."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from pydantic_core import to_json

from benchmarks.timeline import Stamps, _applied_ids, _hop_ids, plot, stages_of
from packetflow.hops.bundle import pack
from packetflow.records import Outbound


def test_a_reactor_call_is_cut_at_its_hop_changelog_and_response() -> None:
    stamps = Stamps({})
    for where, at in [("request", 0), ("hop", 11), ("changelog", 14), ("response", 16)]:
        stamps.note("r1", where, at)
    stamps.note("r1", "hop", 30)  # a later record naming it again: the first one counts
    stamps.note("r1", "received", 18.5)
    table = stages_of("packetflow_reactor", stamps, ["r1"])
    medians = [cut["p50"] for cut in table.values()]
    assert medians == [11, 3, 2, 2.5, 18.5]  # the four stages, then end to end


def test_a_call_missing_a_stamp_is_left_out() -> None:
    stamps = Stamps({"r1": {"request": 0, "response": 2, "received": 3}})
    stamps.note("r2", "request", 0)  # never answered
    table = stages_of("packetflow_stateless", stamps, ["r1", "r2"])
    assert table["end to end"]["samples"] == 1


def test_the_ids_of_a_bundle_and_of_a_state_record_are_read() -> None:
    hops = [Outbound("t", b"k", to_json({"id": i}), ()) for i in ("a", "b")]
    bundle = pack(hops, 0)
    record = SimpleNamespace(
        topic="t",
        partition=0,
        offset=5,
        key=bundle.key,
        value=bundle.value,
        headers=bundle.headers,
    )
    assert _hop_ids(record) == ["a", "b"]
    state = SimpleNamespace(value=to_json({"applied": [["a", {}, [], 1], ["b", {}, [], 2]]}))
    assert _applied_ids(state) == ["a", "b"]


def test_the_plot_draws_each_contender_with_its_stages(tmp_path: Path) -> None:
    stamps = Stamps({"r1": {"request": 0, "response": 2, "received": 3}})
    table = {"stateless": stages_of("packetflow_stateless", stamps, ["r1"])}
    plot(table, tmp_path / "timeline.png")
    assert (tmp_path / "timeline.png").read_bytes().startswith(b"\x89PNG")
