"""The request loop: the requests topic, consumed in batches straight from aiokafka.

It knows nothing of Faust: it is given a consumer, a producer, the handler of
a record and what replaces a refused one (:mod:`.loop`); its consumer and
where it reads from are in :mod:`.consumer`, its commits at least once in
:mod:`.commits` (exactly once: :mod:`packetflow.kafka.transactions`). The
Faust worker starts it (:mod:`packetflow.worker.request_loop`).
"""
