"""What every settings group shares: the error, the base class and the list type."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

__all__ = ["Group", "Items", "SettingsError", "split_items"]


class SettingsError(ValueError):
    """An environment variable holds a value PacketFlow cannot use."""


def split_items(value: object) -> object:
    """``"a, b,,c"`` as ``("a", "b", "c")``; anything else is left to validation."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


Items = Annotated[tuple[str, ...], NoDecode, BeforeValidator(split_items)]
"""A comma-separated list in the environment, a tuple in code (a string is split too)."""


class Group(BaseSettings):
    """A group of settings, each field read from the variable its ``validation_alias`` names.

    Built in code, a group holds its defaults and the keyword arguments given (by field name):
    only :func:`packetflow.settings.env.read` consults the environment, so tests never depend
    on the variables of the process that runs them.
    """

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        case_sensitive=True,
        env_ignore_empty=True,
        validate_by_name=True,
        validate_by_alias=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the keyword arguments: see the class docstring."""
        return (init_settings,)

    @classmethod
    def variable(cls, name: str) -> str:
        """The environment variable of field ``name``."""
        alias = cls.model_fields[name].validation_alias
        if not isinstance(alias, str):
            raise KeyError(f"{cls.__name__}.{name} is not read from a variable")
        return alias

    @classmethod
    def variables(cls) -> dict[str, FieldInfo]:
        """The fields read from a variable, by variable name (nested groups are not)."""
        return {
            info.validation_alias: info
            for info in cls.model_fields.values()
            if isinstance(info.validation_alias, str)
        }

    @classmethod
    def groups(cls) -> dict[str, type[Group]]:
        """The groups nested in this one, by field name."""
        return {
            name: info.annotation
            for name, info in cls.model_fields.items()
            if isinstance(info.annotation, type) and issubclass(info.annotation, Group)
        }
