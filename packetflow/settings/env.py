"""Read settings from ``PACKETFLOW_*`` variables, and say in plain words what is wrong."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import EnvSettingsSource

from packetflow.settings.base import Group, SettingsError

__all__ = ["read"]

G = TypeVar("G", bound=Group)


class _Environment(EnvSettingsSource):
    """pydantic-settings' reading of variables, from ``env`` rather than the process's.

    Fields without a variable (the nested groups) are left to :func:`read`. It overrides
    ``_load_env_vars``, the hook pydantic-settings' own dotenv source overrides: hence the
    upper bound on pydantic-settings in pyproject.toml.
    """

    def __init__(self, settings_cls: type[Group], env: Mapping[str, str]) -> None:
        self._env = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name: value for name, value in self._env.items() if value != ""}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        if not isinstance(field.validation_alias, str):
            return None, field_name, False
        return super().get_field_value(field, field_name)


def read(cls: type[G], env: Mapping[str, str]) -> G:
    """``cls`` from the variables in ``env`` (unset or empty: the default), groups within too.

    Raises :class:`SettingsError` naming every bad variable, its value and what was expected.
    """
    problems: list[str] = []
    values: dict[str, Any] = {}
    for name, group in cls.groups().items():
        try:
            values[name] = read(group, env)
        except SettingsError as exc:
            problems.append(str(exc))
    values.update(_Environment(cls, env)())
    try:
        settings = cls(**values)
    except ValidationError as exc:
        problems += [_explain(cls, error) for error in exc.errors()]
    if problems:
        raise SettingsError("; ".join(problems))
    return settings


def _explain(cls: type[Group], error: ErrorDetails) -> str:
    """``PACKETFLOW_X='value': what was expected``."""
    variable = str(error["loc"][0]) if error["loc"] else "?"
    info = cls.variables().get(variable)
    return f"{variable}={error['input']!r}: {_expected(error, info)}"


def _expected(error: ErrorDetails, info: FieldInfo | None) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return "expected an integer"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']}"
    if kind == "literal_error" and info is not None:
        return f"expected one of {typing.get_args(info.annotation)}"
    if kind == "value_error":
        return str(ctx["error"])
    return error["msg"]
