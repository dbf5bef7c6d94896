"""The capabilities PacketFlow ships and runs by default (``PACKETFLOW_CAPABILITIES=streams``).

They are the seeds' examples and the subjects of the end-to-end tests.
"""

from streams.accounts import admin_user_delete, user_profile_update
from streams.counter import counter
from streams.files import files
from streams.health import system_health
from streams.notify import send_notification
from streams.profile import user_profile_transform

__all__ = [
    "admin_user_delete",
    "counter",
    "files",
    "send_notification",
    "system_health",
    "user_profile_transform",
    "user_profile_update",
]
