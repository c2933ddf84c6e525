"""The comparison points `make bench` runs beside our functions, in the same functions-framework.

`floor`: the bare framework answering 202 (nothing is cheaper). `naive`: what any ingest must do
at least, written the plain way: decode the JSON, publish it with the client's default settings,
wait for Pub/Sub's ack (issue 13's naive publisher). `naive_grouped`: the same decode, published
with ingest's publisher (shared/publish.py), to show how much of ingest's figures is the
publisher rather than the checks.
`naive_dispatch`: what any dispatch must do at least: decode the push envelope and the event,
POST it to the destination with requests, answer 204. `counter`: a no-op endpoint that counts
what reaches it: the push floor, and the destination dispatch sends its hits to.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import threading
from typing import TYPE_CHECKING

import flask
import functions_framework
from google.cloud import pubsub_v1

if TYPE_CHECKING:
    import requests

    from shared.settings import Settings

NAIVE_TOPIC = "bench-naive"
_counted = 0
_in_flight = 0
_peak_in_flight = 0
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
    from shared.publish import publish_messages

    data = request.get_data()
    json.loads(data)
    return {"message_id": publish_messages([(data, {})], _naive_settings())[0]}, 202


@functools.cache
def _naive_settings() -> Settings:
    """Ingest's settings, publishing to naive's topic."""
    from shared.settings import Settings

    return Settings.from_env({**os.environ, "PUBSUB_TOPIC": NAIVE_TOPIC})


@functools.cache
def _destination_session() -> requests.Session:
    # Imported on first use: the floor shares this file and is ingest's import baseline.
    import requests

    return requests.Session()


@functions_framework.http
def naive_dispatch(request: flask.Request) -> tuple[str, int]:
    """Decode the pushed message and POST its event to the destination, no checks at all."""
    message = json.loads(request.get_data())["message"]
    event = json.loads(base64.b64decode(message["data"]))
    answer = _destination_session().post(os.environ["OWOX_ENDPOINT"], json=event, timeout=10)
    return "", 204 if answer.ok else 503


@functions_framework.http
def counter(request: flask.Request) -> tuple[str, int]:
    """Count every request (a push, or a hit sent by GET or POST) and answer 200.

    GET /count answers the count so far; GET /peak the most requests it had under way at once
    since the last GET /peak (how many pushes the emulator sends at a time).
    """
    global _counted, _in_flight, _peak_in_flight
    if request.path == "/count":
        return str(_counted), 200
    if request.path == "/peak":
        with _counted_lock:
            peak, _peak_in_flight = _peak_in_flight, 0
        return str(peak), 200
    with _counted_lock:
        _in_flight += 1
        _peak_in_flight = max(_peak_in_flight, _in_flight)
    request.get_data()
    with _counted_lock:
        _counted += 1
        _in_flight -= 1
    return "", 200


@functools.cache
def _publisher() -> pubsub_v1.PublisherClient:
    # The client's defaults, as a plain publisher has them (and issue 13 measured its naive).
    return pubsub_v1.PublisherClient()
