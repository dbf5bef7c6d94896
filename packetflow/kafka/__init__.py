"""Kafka plumbing shared by every loop of a worker, on aiokafka alone (no Faust).

Producer batches and hop bundles (:mod:`.batches`, :mod:`.linger`), transactions
(:mod:`.transactions`), stable committed offsets (:mod:`.committed`), Kafka's
default partitioner (:mod:`.partition`), consumed messages as records
(:mod:`.records`).
"""
