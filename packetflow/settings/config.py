"""Everything a worker or client needs to know: the capabilities served and the groups."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, Field

from packetflow.settings.base import Group, Items
from packetflow.settings.env import read
from packetflow.settings.groups import (
    AuthSettings,
    IngressSettings,
    KafkaSettings,
    ReactorSettings,
    TuningSettings,
    WebSettings,
)

__all__ = ["Settings"]


def _some_modules(modules: tuple[str, ...]) -> tuple[str, ...]:
    if not modules:
        raise ValueError("expected comma-separated module names")
    return modules


class Settings(Group):
    """A worker's configuration, one group per concern.

    ``Settings.from_env()`` reads the ``PACKETFLOW_*`` variables; in code, give only the
    groups that differ from the defaults, e.g.
    ``Settings(kafka=KafkaSettings(partitions=3), web=WebSettings(port=0))``.
    """

    capabilities: Annotated[Items, AfterValidator(_some_modules)] = Field(
        ("streams",),
        validation_alias="PACKETFLOW_CAPABILITIES",
        description="comma-separated modules whose top-level capabilities are served (plus the"
        " `packetflow.capabilities` entry points)",
    )
    kafka: KafkaSettings = Field(default_factory=KafkaSettings, title="Kafka")
    ingress: IngressSettings = Field(default_factory=IngressSettings, title="Request loop")
    reactors: ReactorSettings = Field(default_factory=ReactorSettings, title="Reactors and tables")
    auth: AuthSettings = Field(default_factory=AuthSettings, title="Authentication")
    web: WebSettings = Field(default_factory=WebSettings, title="Web server")
    tuning: TuningSettings = Field(default_factory=TuningSettings, title="Advanced tuning")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``PACKETFLOW_*`` from ``env`` (default: the process's); unset ones keep defaults.

        Raises :class:`~packetflow.settings.SettingsError` naming the variable.
        """
        return read(cls, os.environ if env is None else env)
