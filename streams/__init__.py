"""The capabilities PacketFlow ships and runs by default (``PACKETFLOW_CAPABILITIES=streams``).

They are the seeds' examples and the subjects of the end-to-end tests.
"""

from streams.health import system_health
from streams.notify import send_notification
from streams.profile import user_profile_transform

__all__ = ["send_notification", "system_health", "user_profile_transform"]
