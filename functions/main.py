"""Cloud Function entry points: `ingest` (vendor webhooks in) and `dispatch` (Pub/Sub push out)."""

from __future__ import annotations

import json
import os

import flask
import functions_framework

from shared.dispatch import handle_push
from shared.events import utc_now
from shared.ingest import handle_webhook
from shared.publish import publish_events
from shared.replies import Reply
from shared.settings import Settings

# Parsed once per instance: a bad variable fails the cold start, not the first call.
SETTINGS = Settings.from_env(os.environ)


@functions_framework.http
def ingest(request: flask.Request) -> flask.Response:
    """`POST /{source}`: verify, normalise and publish a vendor's call webhook."""
    return _respond(handle_webhook(request, SETTINGS, publish_events, utc_now()))


@functions_framework.http
def dispatch(request: flask.Request) -> flask.Response:
    """`POST /{destination}`: deliver one Pub/Sub push message to that destination."""
    if request.method != "POST":
        return _respond(Reply(405, {"error": "method_not_allowed"}, {"Allow": "POST"}))
    destination = request.path.strip("/")
    return _respond(handle_push(destination, request.get_data(), SETTINGS, utc_now()))


def _respond(reply: Reply) -> flask.Response:
    body = "" if reply.body is None else json.dumps(reply.body)
    return flask.Response(
        body, reply.status, dict(reply.headers), mimetype="application/json" if body else None
    )
