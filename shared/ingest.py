"""The webhook receiver: route, limit, verify, parse, publish, and say what happened."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from urllib.parse import quote, unquote, urlsplit

from werkzeug.wrappers import Request
from werkzeug.wsgi import get_content_length

from shared.errors import (
    BadPayload,
    MethodNotAllowed,
    PayloadTooLarge,
    PermanentError,
    RetryableError,
    UnknownSource,
    UnsupportedMediaType,
)
from shared.events import CallEvent
from shared.logs import log_outcome
from shared.openapi import openapi_document
from shared.replies import Reply, error_reply
from shared.settings import Settings
from shared.sources import SOURCES
from shared.sources.base import Source, WebhookRequest

Publish = Callable[[Sequence[CallEvent], Settings], list[str]]
# Stores events durably when publishing failed; False when the store did not take them either.
Keep = Callable[[Sequence[CallEvent], Settings, datetime], bool]
RETRY_AFTER_S = "30"
# Characters a vendor's HTTP client leaves unescaped in a path; the rest were %-escaped.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def handle_webhook(
    request: Request,
    settings: Settings,
    publish: Publish,
    now: datetime,
    keep: Keep | None = None,
    after_publish: Callable[[Settings], None] | None = None,
) -> Reply:
    """Answer one HTTP request to ingest (DESIGN §7); publishes only what verified and parsed.

    When publishing fails, `keep` stores the events for a later republish and the answer is
    still 2xx; 503 only when neither took them. `after_publish` runs after each success.
    """
    started = time.perf_counter()
    if request.method == "GET" and request.path.rstrip("/") == "/healthz":
        return Reply(200, {"status": "ok"})
    if request.method == "GET" and request.path == "/openapi.json":
        return Reply(200, openapi_document())
    name, _, _ = request.path.lstrip("/").partition("/")
    try:
        source = _enabled_source(name, settings)
        webhook = _read(request, source, name, settings, now)
        source.verify(webhook, settings.secrets_for(name))
        parsed = source.parse(webhook, settings)
        if not parsed.events:
            log_outcome(
                "INFO", "webhook acknowledged", outcome="ignored", source=name, detail=parsed.note
            )
            return Reply(
                parsed.status,
                {"event_ids": [], "message_ids": [], "note": parsed.note},
                parsed.headers,
            )
        message_ids = publish(parsed.events, settings)
    except PermanentError as error:
        log_outcome(
            "WARNING",
            "webhook rejected",
            outcome="rejected",
            # Only a registered name is logged: an arbitrary path segment could be anything.
            source=name if name in SOURCES else None,
            reason=error.reason,
            detail=error.detail,
        )
        reply = error_reply(error)
        if isinstance(error, MethodNotAllowed):
            allowed = ", ".join(sorted(SOURCES[name].METHODS))
            return Reply(reply.status, reply.body, {"Allow": allowed})
        return reply
    except RetryableError as error:
        if keep is not None and keep(parsed.events, settings, now):
            return _kept(name, parsed.events, parsed.status, parsed.headers, error)
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
    if after_publish is not None:
        after_publish(settings)
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
    return Reply(
        parsed.status, {"event_ids": event_ids, "message_ids": message_ids}, parsed.headers
    )


def _kept(
    name: str,
    events: Sequence[CallEvent],
    status: int,
    headers: Mapping[str, str],
    error: RetryableError,
) -> Reply:
    for event in events:
        log_outcome(
            "WARNING",
            "publish failed; call kept to republish when Pub/Sub accepts",
            outcome="kept",
            source=name,
            event_id=event.event_id,
            reason=error.reason,
            detail=error.detail,
        )
    event_ids = [event.event_id for event in events]
    # Answered as a published call is (202, or the 200 a platform requires): it must not
    # resend, and some never would.
    return Reply(status, {"event_ids": event_ids, "message_ids": [], "kept": True}, headers)


def _enabled_source(name: str, settings: Settings) -> Source:
    source = SOURCES.get(name)
    # A source without a secret is disabled, never open: it looks exactly like an unknown one.
    if source is None or not settings.secrets_for(name):
        # The name is echoed only when it is one of ours: a path can carry anything.
        raise UnknownSource(f"no enabled webhook source named {name!r}" if source else "")
    return source


def _read(
    request: Request, source: Source, name: str, settings: Settings, now: datetime
) -> WebhookRequest:
    if request.method not in source.METHODS:
        accepted = " or ".join(sorted(source.METHODS))
        raise MethodNotAllowed(f"{request.method[:16]} is not accepted; send {accepted}")
    limit = settings.max_body_bytes
    # werkzeug's own rule (`request.content_length`), without building its header view.
    content_length = get_content_length(request.environ)
    if content_length is not None and content_length > limit:
        raise PayloadTooLarge(f"body over {limit} bytes")
    # Read at most one byte past the limit: a body without Content-Length cannot exhaust memory.
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(f"body over {limit} bytes")
    headers = lower_case_headers(request.environ)
    subpath = _raw_subpath(request, name)
    webhook = WebhookRequest(
        method=request.method,
        subpath=unquote(subpath, errors="replace"),
        query=request.query_string.decode("latin-1"),
        headers=headers,
        body=body,
        public_url=public_url(request, name, subpath, settings),
        received_at=now,
    )
    if request.method == "GET" and body:
        raise BadPayload("a GET webhook carries its fields in the query string, not a body")
    # An empty body has no media type to check (GET callbacks, RingCentral's handshake).
    if body and webhook.content_type not in source.CONTENT_TYPES:
        accepted = ", ".join(sorted(source.CONTENT_TYPES))
        raise UnsupportedMediaType(f"content type must be one of: {accepted}")
    return webhook


def lower_case_headers(environ: Mapping[str, object]) -> dict[str, str]:
    """The request's headers by lower-case name, read from the WSGI environ as werkzeug's
    `request.headers` reads them (HTTP_* keys, and CONTENT_TYPE/CONTENT_LENGTH when set),
    without building its case-preserving view first: that view cost a tenth of ingest's time.
    """
    headers = {}
    for key, value in environ.items():
        try:
            name = _HEADER_NAMES[key]
        except KeyError:
            name = _header_name(key)
        if name is not None and (value or key not in _BODY_HEADER_KEYS):
            headers[name] = str(value)
    return headers


def _header_name(key: str) -> str | None:
    """The lower-case header name of an environ key; None for a key that is not a header."""
    if key.startswith("HTTP_"):
        name = None if key in _BODY_HEADER_KEYS_AS_HTTP else key[5:].replace("_", "-").lower()
    else:
        name = _BODY_HEADER_KEYS.get(key)
    # The same few dozen keys arrive with every request; bounded, since a client names headers.
    if len(_HEADER_NAMES) < _MAX_HEADER_NAMES:
        _HEADER_NAMES[key] = name
    return name


_BODY_HEADER_KEYS = {"CONTENT_TYPE": "content-type", "CONTENT_LENGTH": "content-length"}
# A client's own "Content-Type" arrives as CONTENT_TYPE; werkzeug ignores these spellings.
_BODY_HEADER_KEYS_AS_HTTP = frozenset({"HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"})
_HEADER_NAMES: dict[str, str | None] = {}
_MAX_HEADER_NAMES = 1024


def _raw_subpath(request: Request, name: str) -> str:
    """The path after /{source} exactly as the vendor sent it (still %-escaped)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    path = urlsplit(raw).path if isinstance(raw, str) and raw else ""
    if not path.startswith("/"):
        path = quote(request.path, safe=_PATH_SAFE)
    _, _, rest = path.lstrip("/").partition("/")
    return "/" + rest if rest else ""


def public_url(request: Request, name: str, subpath: str, settings: Settings) -> str:
    """The URL the vendor called, as it signed it: PUBLIC_BASE_URL, else forwarded host/scheme.

    `subpath` is the raw (still %-escaped) path after /{source}.
    """
    query = request.query_string.decode("latin-1")
    suffix = f"/{quote(name, safe='')}{subpath}" + (f"?{query}" if query else "")
    if settings.public_base_url:
        return settings.public_base_url + suffix
    # Read as werkzeug's `request.headers.get` reads them; the host only when not forwarded.
    forwarded_scheme = request.environ.get("HTTP_X_FORWARDED_PROTO")
    forwarded_host = request.environ.get("HTTP_X_FORWARDED_HOST")
    scheme = (
        (request.scheme if forwarded_scheme is None else forwarded_scheme).split(",")[0].strip()
    )
    host = (request.host if forwarded_host is None else forwarded_host).split(",")[0].strip()
    return f"{scheme}://{host}{suffix}" if _valid_host(host) else suffix


# The same few hosts call every time; a bounded cache, since a header can carry any text.
@functools.lru_cache(maxsize=256)
def _valid_host(host: str) -> bool:
    try:
        return urlsplit(f"//{host}").hostname is not None
    except ValueError:  # a forwarded host header can carry any text
        return False
