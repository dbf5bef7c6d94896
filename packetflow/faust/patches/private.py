"""The private names of Faust, mode and aiokafka that this package relies on.

What to look up in a new release of those libraries: each name must still
exist and mean what the module using it says. Code outside this package uses
none of them (``tests/packetflow/faust/patches/test_private_api.py``, which
also checks that this list names every private name the package uses).
"""

from __future__ import annotations

__all__ = ["PRIVATE_NAMES"]

PRIVATE_NAMES: frozenset[str] = frozenset(
    {
        # faust.transport.consumer.Consumer: commit bookkeeping (offsets, acks, transacted)
        "_acked",
        "_acked_index",
        "_add_gap",
        "_commit_offsets",
        "_committed_offset",
        "_new_offset",
        "_paused_partitions",
        "_unacked_messages",
        "_wait_next_records",
        # faust.transport.drivers.aiokafka: the consumer thread, the producer (read_committed,
        # producer)
        "_create_consumer",
        "_ensure_consumer",
        "_ensure_producer",
        "_thread",
        # aiokafka.AIOKafkaConsumer: its group coordinator, asked to rejoin (rejoin), and its
        # generation and member read (fenced_offsets)
        "_coordinator",
        # aiokafka.producer.sender: the transaction manager of the handler subclassed (whose
        # own _group_id, _offsets and _sender it reads too) (fenced_offsets)
        "_txn_manager",
        # aiokafka.AIOKafkaConsumer (read_committed)
        "_isolation_level",
        # faust.streams: the event tables write for (current_event); a stream's passive
        # drainer and processors (take)
        "_current_event",
        "_enable_passive",
        "_processors",
        # faust.stores.base.SerializedStore: bytes in and out (stores)
        "_get",
        "_set",
    }
)
