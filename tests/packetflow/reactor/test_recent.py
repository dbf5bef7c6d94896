"""Records of recently used reactor keys: kept within a budget, encoded item by item."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic_core import to_json

from packetflow.reactor.recent import RecentRecords, encode


def test_an_item_that_is_not_json_is_refused_as_to_json_refuses_it() -> None:
    with pytest.raises(ValueError, match="Unable to serialize"):
        encode({"applied": [["r1", object()]]})


@pytest.mark.parametrize(
    "record",
    [
        {},
        {"state": {}, "version": 0, "applied": []},
        {"state": {"text": 'é\u2028"q"\\', "n": -1.5e300, "none": None}, "applied": [[]]},
        {"applied": [["r1", {"count": 1}, [{"kind": "x", "data": {"f": 0.1}}], 1], "s", 2, True]},
        {"nested": [[1, [2, [3]]], {"a": [4]}], "list": [], "top": [None]},
    ],
    ids=["empty", "new-key", "strings-numbers", "log", "nested"],
)
def test_a_record_encodes_to_the_bytes_to_json_gives(record: dict[str, Any]) -> None:
    value, _ = encode(record)
    assert value == to_json(record)


def test_a_list_continuing_a_known_one_has_only_its_new_items_encoded() -> None:
    old = [["r1"], ["r2"], ["r3"]]
    marked = {"applied": (old, [b'"m1"', b'"m2"', b'"m3"'])}  # known encodings, marked
    one_more, _ = encode({"applied": [*old[1:], ["r4"]]}, marked)  # a request applied
    assert one_more == b'{"applied":["m2","m3",["r4"]]}'
    again, _ = encode({"applied": old}, marked)  # a replay writes the record again
    assert again == b'{"applied":["m1","m2","m3"]}'
    grown, _ = encode({"applied": [*old, ["r4"]]}, marked)  # a log not yet full
    assert grown == b'{"applied":["m1","m2","m3",["r4"]]}'


OLD = [["r1"], ["r2"], ["r3"]]


@pytest.mark.parametrize(
    "items",
    [
        [["r2"], OLD[2], ["r4"]],  # an item equal to a known one, not the same
        [OLD[2], ["r4"], ["r5"]],  # two applied at once
        [OLD[1], OLD[0], ["r4"]],  # reordered
        [],
    ],
    ids=["equal-not-same", "two-added", "reordered", "emptied"],
)
def test_a_list_that_does_not_continue_the_known_one_is_encoded_afresh(
    items: list[Any],
) -> None:
    marked = {"applied": (OLD, [b'"m1"', b'"m2"', b'"m3"'])}
    value, _ = encode({"applied": items}, marked)
    assert value == to_json({"applied": items})


def test_remembered_records_stay_within_their_budget_the_least_recently_used_dropped() -> None:
    recent = RecentRecords(1000)
    values = {f"k{n}".encode(): bytes([n]) * 125 for n in range(9)}  # an eighth of the budget
    for key, value in list(values.items())[:8]:
        recent.put(key, value, {"v": key.decode()})
    assert recent.get(b"k0", values[b"k0"]) == {"v": "k0"}  # k0 is now the most recently used
    recent.put(b"k8", values[b"k8"], {"v": "k8"})
    assert (len(recent), recent.size) == (8, 1000)
    assert recent.get(b"k1", values[b"k1"]) is None  # the least recently used went
    kept = [k for k, v in values.items() if recent.get(k, v) is not None]
    assert kept == [b"k0", *(f"k{n}".encode() for n in range(2, 9))]
    assert recent.get(b"k0", values[b"k2"]) is None  # other bytes than it was kept with
    recent.put(b"big", b"x" * 126, {})  # over an eighth of the budget: not kept
    assert (recent.get(b"big", b"x" * 126), len(recent)) == (None, 8)
    recent.put(b"k0", b"x" * 126, {})  # a key written again, too big now: its old record goes
    assert (recent.get(b"k0", values[b"k0"]), len(recent), recent.size) == (None, 7, 875)


def test_a_record_kept_with_its_item_encodings_counts_twice_its_size() -> None:
    recent = RecentRecords(1000)
    record = {"applied": [["r1"]]}
    value, encodings = encode(record)
    recent.put(b"k", value, record, encodings)
    assert (recent.size, recent.encodings(b"k")) == (2 * len(value), encodings)
    recent.put(b"k", value, record)  # written again without them
    assert (recent.size, recent.encodings(b"k")) == (len(value), None)
    assert recent.encodings(b"other") is None
