"""Worker configuration in typed groups, read from ``PACKETFLOW_*`` environment variables.

Each field names its variable and is described once, in :mod:`packetflow.settings.groups`;
``docs/configuration.md`` is generated from them (``python -m packetflow.settings.docs``).
"""

from packetflow.settings.base import SettingsError
from packetflow.settings.config import Settings
from packetflow.settings.groups import (
    AuthSettings,
    IngressSettings,
    KafkaSettings,
    ReactorSettings,
    TuningSettings,
    WebSettings,
)

__all__ = [
    "AuthSettings",
    "IngressSettings",
    "KafkaSettings",
    "ReactorSettings",
    "Settings",
    "SettingsError",
    "TuningSettings",
    "WebSettings",
]
