"""The comparison points `make bench` runs beside our functions, in the same functions-framework.

`floor`: the bare framework answering 202 (nothing is cheaper). `naive`: what any ingest must do
at least, written the plain way: decode the JSON, publish it with the client's default settings,
wait for Pub/Sub's ack (issue 13's naive publisher). `naive_grouped`: the same decode, published
with ingest's publisher (shared/publish.py), to show how much of ingest's figures is the
publisher rather than the checks.
`counter`: a no-op endpoint that counts what reaches it: the push floor, and the destination
dispatch sends its hits to.
"""

from __future__ import annotations

import functools
import json
import os
import threading

import flask
import functions_framework
from google.cloud import pubsub_v1

NAIVE_TOPIC = "bench-naive"
_counted = 0
_counted_lock = threading.Lock()


@functions_framework.http
def floor(request: flask.Request) -> tuple[str, int]:
    """Answer 202 and nothing else."""
    return "", 202


@functions_framework.http
def naive(request: flask.Request) -> tuple[dict[str, str], int]:
    """Decode the body, publish it and wait for the ack, as ingest does with no checks at all."""
    data = request.get_data()
    json.loads(data)
    client = _publisher()
    topic = client.topic_path(os.environ["GOOGLE_CLOUD_PROJECT"], NAIVE_TOPIC)
    return {"message_id": str(client.publish(topic, data).result(timeout=10))}, 202


@functions_framework.http
def naive_grouped(request: flask.Request) -> tuple[dict[str, str], int]:
    """`naive`, published by ingest's publisher instead of the client library's batcher."""
    # Imported on first use: the floor shares this file, and its cold start must stay bare.
    from shared.publish import publish_one

    data = request.get_data()
    json.loads(data)
    topic = pubsub_v1.PublisherClient.topic_path(os.environ["GOOGLE_CLOUD_PROJECT"], NAIVE_TOPIC)
    return {"message_id": publish_one(topic, data, timeout_s=10)}, 202


@functions_framework.http
def counter(request: flask.Request) -> tuple[str, int]:
    """Count every request (a push, or a hit sent by GET or POST) and answer 200; GET /count
    answers the count so far."""
    global _counted
    if request.path == "/count":
        return str(_counted), 200
    request.get_data()
    with _counted_lock:
        _counted += 1
    return "", 200


@functools.cache
def _publisher() -> pubsub_v1.PublisherClient:
    # The client's defaults, as a plain publisher has them (and issue 13 measured its naive).
    return pubsub_v1.PublisherClient()
