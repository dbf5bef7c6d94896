"""docs/configuration.md is generated from the settings definitions and kept up to date."""

from __future__ import annotations

from pathlib import Path

from packetflow.settings import Settings
from packetflow.settings.docs import render

REGENERATE = "run `python -m packetflow.settings.docs > docs/configuration.md`"


def test_every_variable_has_a_row_in_the_configuration_page(repo_root: Path) -> None:
    text = (repo_root / "docs/configuration.md").read_text()
    variables = set(Settings.variables()).union(
        *(group.variables() for group in Settings.groups().values())
    )
    missing = sorted(v for v in variables if f"| `{v}` |" not in text)
    assert not missing, f"docs/configuration.md lacks {missing}: {REGENERATE}"


def test_the_configuration_page_is_up_to_date(repo_root: Path) -> None:
    page = (repo_root / "docs/configuration.md").read_text()
    assert page == render(), f"docs/configuration.md is out of date: {REGENERATE}"


def test_each_group_is_a_section_of_the_page() -> None:
    page = render()
    for name in Settings.groups():
        assert f"\n## {Settings.model_fields[name].title}\n" in page
    assert "<!-- variables -->" not in page
