"""The CLI's capability table: one row per capability, the text as declared."""

from __future__ import annotations

import io

from rich.console import Console

from packetflow.cli import capability_table


def rendered(registry: dict[str, dict[str, object]]) -> str:
    out = io.StringIO()
    Console(file=out, width=120, color_system=None).print(capability_table(registry))
    return out.getvalue()


def test_each_capability_is_a_row_sorted_by_id() -> None:
    text = rendered(
        {
            "b_cap": {"id": "b_cap", "version": "2.0.0", "intent": "second"},
            "a_cap": {"id": "a_cap", "version": "1.0.0", "intent": "first"},
        }
    )
    rows = [line.split() for line in text.splitlines() if "_cap" in line]
    assert rows == [["a_cap", "1.0.0", "first"], ["b_cap", "2.0.0", "second"]]


def test_brackets_in_an_intent_are_shown_not_read_as_markup() -> None:
    text = rendered({"x": {"id": "x", "version": "1.0.0", "intent": "[bold]sum[/bold] [x]"}})
    assert "[bold]sum[/bold] [x]" in text


def test_a_capability_without_version_or_intent_still_has_its_row() -> None:
    assert "bare" in rendered({"bare": {"id": "bare"}})
