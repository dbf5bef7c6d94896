"""Faust's private API, used in this package only: each module patches or reads one part.

PacketFlow needs more of Faust's consumer than Faust makes public: a commit
that never passes an unprocessed record, acks that count only in the current
generation, skipped records read again, and under exactly once a
``read_committed`` consumer whose agents commit in transactions. Each module
here names the private attributes it relies on and why; nothing outside this
package touches Faust's (or aiokafka's) private names, which a unit test
checks (``tests/packetflow/faust/patches/test_private_api.py``). What to run
on a Faust upgrade: ``docs/development.md``, "Upgrading Faust".

:func:`install` applies every patch to an app; the other names are the small
helpers the worker reads the patched state with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from packetflow.faust.patches.acks import count_only_current_acks
from packetflow.faust.patches.commit_wait import Settles, commit_after_resends
from packetflow.faust.patches.current_event import as_current
from packetflow.faust.patches.fenced_offsets import GroupMember, faust_member, group_member
from packetflow.faust.patches.gaps import FetchGaps, fetch_gaps, record_gaps
from packetflow.faust.patches.offsets import Confirm, strict_offsets
from packetflow.faust.patches.producer import kafka_producer
from packetflow.faust.patches.read_committed import read_committed
from packetflow.faust.patches.rejoin import request_rejoin
from packetflow.faust.patches.rereads import watch_rereads
from packetflow.faust.patches.services import patch_services
from packetflow.faust.patches.stores import store_get, store_set
from packetflow.faust.patches.take import take_ready
from packetflow.faust.patches.transacted import commit_in_transactions, record_transacted
from packetflow.faust.patches.versions import TESTED, warn_untested
from packetflow.metrics import Metrics

__all__ = [  # noqa: RUF022 - grouped by concern, as a reader looks them up
    # installing
    "TESTED",
    "install",
    # the patched consumer's state, for the agents' transactions (exactly once)
    "Confirm",
    "FetchGaps",
    "GroupMember",
    "faust_member",
    "fetch_gaps",
    "group_member",
    "record_transacted",
    "request_rejoin",
    # Faust's internals the worker reads or writes
    "as_current",
    "kafka_producer",
    "store_get",
    "store_set",
    "take_ready",
]


def install(
    app: Any,
    *,
    exactly_once: bool,
    resends: Settles,
    metrics: Metrics,
    confirm: Confirm | None = None,
    after_producer: Callable[[], Any] | None = None,
) -> None:
    """Patch ``app`` (a ``faust.App``, before it starts) and log any untested version.

    When Faust builds the app's services, its consumer counts only current acks
    (:mod:`.acks`), commits only processed records (:mod:`.offsets`), and commits
    only once ``resends`` have settled (:mod:`.commit_wait`); exactly once, it
    seeks to the stable commits ``confirm`` names, reads ``read_committed``
    (:mod:`.read_committed`), commits nothing itself (:mod:`.transacted`) and
    records the offsets its fetch loop passes over (:mod:`.gaps`). At least
    once, skipped records are watched for and read again (:mod:`.rereads`,
    counted in ``metrics``). ``after_producer()`` is a service started right
    after Faust's producer (:mod:`.services`).
    """
    warn_untested()

    def patch_consumer() -> None:  # Faust's consumer exists now
        count_only_current_acks(app)
        offsets = strict_offsets(app)
        if exactly_once:
            offsets.confirm = confirm
        commit_after_resends(app, resends)
        if exactly_once:
            read_committed(app)
            commit_in_transactions(app)
            record_gaps(app)

    patch_services(app, patch_consumer, after_producer)
    if not exactly_once:  # commit markers would look like skipped records
        watch_rereads(app, metrics)
