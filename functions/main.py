"""Cloud Function entry points: `ingest` (webhooks in), `dispatch` (push out), `sweep_kept`."""

from __future__ import annotations

import importlib
import json
import os
from datetime import UTC, datetime

import flask
import functions_framework

from shared.replies import Reply
from shared.settings import Settings

# Parsed once per instance: a bad variable fails the cold start, not the first call.
SETTINGS = Settings.from_env(os.environ)

# Each entry point imports only what it uses, inside it. The modules of the one this instance
# serves load here, at cold start (functions-framework sets FUNCTION_TARGET before loading this
# file), so no first call waits for them; ingest never loads the ledger, the destinations or
# Firestore. Another target's modules load on its first call (tests serve several from one file).
_MODULES = {
    "ingest": ("shared.ingest", "shared.outbox", "shared.publish"),
    "dispatch": ("shared.dispatch",)
    + (("google.cloud.firestore",) if SETTINGS.dedup == "firestore" else ()),
    "sweep_kept": ("shared.outbox",),
}
for _module in _MODULES.get(os.environ.get("FUNCTION_TARGET", ""), ()):
    importlib.import_module(_module)


@functions_framework.http
def ingest(request: flask.Request) -> flask.Response:
    """`POST /{source}`: verify, normalise and publish a vendor's call webhook."""
    from shared.ingest import handle_webhook
    from shared.outbox import after_publish, keep_events
    from shared.publish import publish_events

    reply = handle_webhook(
        request, SETTINGS, publish_events, utc_now(), keep=keep_events, after_publish=after_publish
    )
    return _respond(reply)


@functions_framework.http
def dispatch(request: flask.Request) -> flask.Response:
    """`POST /{destination}`: deliver one Pub/Sub push message to that destination."""
    if request.method != "POST":
        return _respond(Reply(405, {"error": "method_not_allowed"}, {"Allow": "POST"}))
    from shared.dispatch import handle_push

    destination = request.path.strip("/")
    return _respond(handle_push(destination, request.get_data(), SETTINGS, utc_now()))


@functions_framework.http
def sweep_kept(request: flask.Request) -> flask.Response:
    """`POST /` (Cloud Scheduler): republish calls ingest kept while Pub/Sub was unavailable."""
    if request.method != "POST":
        return _respond(Reply(405, {"error": "method_not_allowed"}, {"Allow": "POST"}))
    from shared.outbox import sweep

    report = sweep(SETTINGS)
    # 503 while some are left unpublished, so the scheduler's run shows as failed and retries.
    status = 503 if report.left else 200
    return _respond(Reply(status, {"republished": report.republished, "left": report.left}))


def utc_now() -> datetime:
    """The current time in UTC: the clock is read only here, at the doors, and passed down."""
    return datetime.now(UTC)


def _respond(reply: Reply) -> flask.Response:
    if reply.body is None:
        return flask.Response(b"", reply.status, dict(reply.headers))
    # The media type as it is, not a mimetype for werkzeug to look a charset up for.
    return flask.Response(
        json.dumps(reply.body), reply.status, dict(reply.headers), content_type=_JSON
    )


_JSON = "application/json"
