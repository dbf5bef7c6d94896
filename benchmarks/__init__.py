"""PacketFlow's benchmark instrument: ``python -m benchmarks [--quick]``.

Contenders (each its own worker process, same broker, same workload, fresh topics):
raw aiokafka (the floor), raw Faust, the PacketFlow worker serving
:mod:`benchmarks.caps`, and Kafka's own producer/consumer performance tools.
In-process micro-benchmarks cover PacketFlow's per-stage cost, JSON vs Avro, and
the registry. See ``docs/benchmarks.md``.
"""
