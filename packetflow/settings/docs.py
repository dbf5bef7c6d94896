"""Generate ``docs/configuration.md`` from the settings definitions.

``python -m packetflow.settings.docs > docs/configuration.md``; a unit test fails when the
page differs from :func:`render`, so a variable is documented where it is defined, once.
"""

from __future__ import annotations

import inspect
import re
import typing
from pathlib import Path
from typing import Any

from annotated_types import Ge, Le
from pydantic.fields import FieldInfo

from packetflow.settings.base import Group
from packetflow.settings.config import Settings

__all__ = ["main", "render"]

PAGE = Path(__file__).with_name("page.md")
"""The page's prose; its ``<!-- variables -->`` line becomes the tables."""

MARKER = "<!-- variables -->"

GENERAL = ("General", "What the worker serves.")
"""Title and intro of the section of :class:`Settings`' own variables."""


def render() -> str:
    """The whole configuration page."""
    sections = [_section(*GENERAL, Settings, "")]
    for name, group in Settings.groups().items():
        title = Settings.model_fields[name].title or name
        sections.append(_section(title, _intro(group), group, f"{name}."))
    return PAGE.read_text().replace(MARKER, "\n\n".join(sections))


def _section(title: str, intro: str, group: type[Group], path: str) -> str:
    rows = [
        f"## {title}",
        "",
        intro,
        "",
        "| variable | in code | type | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for name, info in group.model_fields.items():
        if name in group.groups():
            continue
        cells = (
            f"`{info.validation_alias}`",
            f"`{path}{name}`",
            _kind(info),
            _default(info),
            info.description or "",
        )
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)


def _intro(group: type[Group]) -> str:
    """The first paragraph of the group's docstring, in Markdown."""
    first = inspect.cleandoc(group.__doc__ or "").split("\n\n")[0]
    return re.sub(r"``([^`]+)``", r"`\1`", " ".join(first.split()))


def _kind(info: FieldInfo) -> str:
    annotation = info.annotation
    choices = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Literal else ()
    if choices:
        return " or ".join(f"`{choice}`" for choice in choices)
    if annotation is int:
        least = next((m.ge for m in info.metadata if isinstance(m, Ge)), None)
        most = next((m.le for m in info.metadata if isinstance(m, Le)), None)
        if least is not None and most is not None:
            return f"integer {least}-{most}"
        return f"integer ≥ {least}" if least is not None else "integer"
    if typing.get_origin(annotation) is tuple:
        return "comma-separated list"
    return "text"


def _default(info: FieldInfo) -> str:
    extra = info.json_schema_extra
    if isinstance(extra, dict) and "shown_default" in extra:
        return f"`{extra['shown_default']}`"
    value: Any = info.get_default(call_default_factory=False)
    if value is None or value == ():
        return "(none)"
    if isinstance(value, tuple):
        value = ",".join(value)
    return f"`{value}`"


def main() -> None:
    """Print the page."""
    print(render(), end="")


if __name__ == "__main__":
    main()
