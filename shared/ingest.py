"""The webhook receiver: route, limit, verify, parse, publish, and say what happened."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from urllib.parse import urlsplit

from werkzeug.wrappers import Request

from shared.errors import (
    MethodNotAllowed,
    PayloadTooLarge,
    PermanentError,
    RetryableError,
    UnknownSource,
    UnsupportedMediaType,
)
from shared.events import CallEvent
from shared.logs import log_outcome
from shared.replies import Reply, error_reply
from shared.settings import Settings
from shared.sources import SOURCES
from shared.sources.base import Source, WebhookRequest

Publish = Callable[[Sequence[CallEvent], Settings], list[str]]
RETRY_AFTER_S = "30"


def handle_webhook(request: Request, settings: Settings, publish: Publish, now: datetime) -> Reply:
    """Answer one HTTP request to ingest (DESIGN §7); publishes only what verified and parsed."""
    started = time.perf_counter()
    if request.path.rstrip("/") == "/healthz":
        return Reply(200, {"status": "ok"})
    name, _, subpath = request.path.lstrip("/").partition("/")
    try:
        source = _enabled_source(name, settings)
        webhook = _read(request, source, name, "/" + subpath if subpath else "", settings, now)
        source.verify(webhook, settings.secrets_for(name))
        parsed = source.parse(webhook, settings)
        if not parsed.events:
            log_outcome(
                "INFO", "webhook acknowledged", outcome="ignored", source=name, detail=parsed.note
            )
            return Reply(
                202, {"event_ids": [], "message_ids": [], "note": parsed.note}, parsed.headers
            )
        message_ids = publish(parsed.events, settings)
    except PermanentError as error:
        log_outcome(
            "WARNING",
            "webhook rejected",
            outcome="rejected",
            source=name or None,
            reason=error.reason,
            detail=error.detail,
        )
        reply = error_reply(error)
        if isinstance(error, MethodNotAllowed):
            return Reply(reply.status, reply.body, {"Allow": "POST"})
        return reply
    except RetryableError as error:
        log_outcome(
            "ERROR",
            "publish failed; the vendor should retry",
            outcome="failed",
            source=name,
            reason=error.reason,
            detail=error.detail,
        )
        reply = error_reply(error)
        return Reply(reply.status, reply.body, {"Retry-After": RETRY_AFTER_S})
    elapsed_ms = (time.perf_counter() - started) * 1000
    for event in parsed.events:
        log_outcome(
            "INFO",
            "call event published",
            outcome="published",
            source=name,
            event_id=event.event_id,
            latency_ms=elapsed_ms,
        )
    event_ids = [event.event_id for event in parsed.events]
    return Reply(202, {"event_ids": event_ids, "message_ids": message_ids}, parsed.headers)


def _enabled_source(name: str, settings: Settings) -> Source:
    source = SOURCES.get(name)
    # A source without a secret is disabled, never open: it looks exactly like an unknown one.
    if source is None or not settings.secrets_for(name):
        raise UnknownSource(f"no enabled webhook source named {name!r}"[:200])
    return source


def _read(
    request: Request, source: Source, name: str, subpath: str, settings: Settings, now: datetime
) -> WebhookRequest:
    if request.method != "POST":
        raise MethodNotAllowed(f"{request.method} is not accepted; send POST")
    limit = settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"body over {limit} bytes")
    # Read at most one byte past the limit: a body without Content-Length cannot exhaust memory.
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(f"body over {limit} bytes")
    webhook = WebhookRequest(
        method=request.method,
        subpath=subpath,
        query=request.query_string.decode("latin-1"),
        headers={key.lower(): value for key, value in request.headers.items()},
        body=body,
        public_url=public_url(request, name, subpath, settings),
        received_at=now,
    )
    if webhook.content_type not in source.CONTENT_TYPES:
        accepted = ", ".join(sorted(source.CONTENT_TYPES))
        raise UnsupportedMediaType(f"content type must be one of: {accepted}")
    return webhook


def public_url(request: Request, name: str, subpath: str, settings: Settings) -> str:
    """The URL the vendor called, as it signed it: PUBLIC_BASE_URL, else forwarded host/scheme."""
    query = request.query_string.decode("latin-1")
    suffix = f"/{name}{subpath}" + (f"?{query}" if query else "")
    if settings.public_base_url:
        return settings.public_base_url + suffix
    scheme = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
    host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
    return f"{scheme}://{host}{suffix}" if urlsplit(f"//{host}").hostname else suffix
