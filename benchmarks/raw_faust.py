"""Contender 2: one Faust agent, written plainly as the Faust docs show.

``faust -A benchmarks.raw_faust worker`` with the ``BENCH_*`` variables of
:meth:`benchmarks.workload.TopicSet.env`; values are (de)serialised by Faust's
``json`` codec, the transform is the same as every contender's.
"""

from __future__ import annotations

import os
from typing import Any

import faust

from benchmarks.workload import env_topics, transform

broker, topics = env_topics()

app = faust.App(
    topics.prefix,
    broker=f"kafka://{broker}",
    value_serializer="json",
    topic_partitions=topics.partitions,
    datadir=os.environ.get("BENCH_DATA_DIR", "raw-faust-data"),
)
requests_topic = app.topic(topics.requests, partitions=topics.partitions)
responses_topic = app.topic(topics.responses, partitions=topics.partitions)


@app.agent(requests_topic)
async def echo(stream: faust.StreamT[dict[str, Any]]) -> None:
    async for value in stream:
        response = transform(value)
        await responses_topic.send(key=response["correlation_id"], value=response)
