"""Cloud Function entry points: `ingest` (webhooks in), `dispatch` (push out), `sweep_kept`."""

from __future__ import annotations

import json
import os

import flask
import functions_framework

from shared.events import utc_now
from shared.ingest import handle_webhook
from shared.outbox import after_publish, keep_events, sweep
from shared.publish import publish_events
from shared.replies import Reply
from shared.settings import Settings

# Parsed once per instance: a bad variable fails the cold start, not the first call.
SETTINGS = Settings.from_env(os.environ)


@functions_framework.http
def ingest(request: flask.Request) -> flask.Response:
    """`POST /{source}`: verify, normalise and publish a vendor's call webhook."""
    reply = handle_webhook(
        request, SETTINGS, publish_events, utc_now(), keep=keep_events, after_publish=after_publish
    )
    return _respond(reply)


@functions_framework.http
def dispatch(request: flask.Request) -> flask.Response:
    """`POST /{destination}`: deliver one Pub/Sub push message to that destination."""
    if request.method != "POST":
        return _respond(Reply(405, {"error": "method_not_allowed"}, {"Allow": "POST"}))
    # Imported here: the delivery ledger loads Firestore, which ingest's cold start never needs.
    from shared.dispatch import handle_push

    destination = request.path.strip("/")
    return _respond(handle_push(destination, request.get_data(), SETTINGS, utc_now()))


@functions_framework.http
def sweep_kept(request: flask.Request) -> flask.Response:
    """`POST /` (Cloud Scheduler): republish calls ingest kept while Pub/Sub was unavailable."""
    if request.method != "POST":
        return _respond(Reply(405, {"error": "method_not_allowed"}, {"Allow": "POST"}))
    report = sweep(SETTINGS)
    # 503 while some are left unpublished, so the scheduler's run shows as failed and retries.
    status = 503 if report.left else 200
    return _respond(Reply(status, {"republished": report.republished, "left": report.left}))


def _respond(reply: Reply) -> flask.Response:
    body = "" if reply.body is None else json.dumps(reply.body)
    return flask.Response(
        body, reply.status, dict(reply.headers), mimetype="application/json" if body else None
    )
