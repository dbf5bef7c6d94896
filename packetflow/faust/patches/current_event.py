"""The event Faust's tables write for, set without touching the stream.

Faust's tables send a write to the changelog partition of the current event,
with its timestamp, and find it through a context variable of
``faust.streams`` that has no public setter.
"""

from __future__ import annotations

import weakref
from typing import Any

from faust.streams import _current_event

__all__ = ["as_current"]


def as_current(event: Any) -> None:
    """Make ``event`` the one Faust's tables write for: its changelog partition, its time.

    Only Faust's context variable is set, in the batch's own task. The stream's
    ``current_event`` attribute (``Stream._set_current_event``) must stay untouched:
    the batching (:func:`~packetflow.faust.patches.take_ready`, like Faust's ``take_events``)
    reads it to record the event it is buffering while a batch is processed, and would
    record a wrong event and never deliver (nor ack) the right one.
    """
    _current_event.set(weakref.ref(event))
