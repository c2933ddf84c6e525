"""Where hits go: each destination builds its request, checks it, sends it, classifies answers."""

from __future__ import annotations

import contextlib
import functools
import json
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlencode

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError
from urllib3.util.retry import Retry

from shared.errors import (
    DestinationRejected,
    DestinationUnavailable,
    HitRejected,
    HitTooLarge,
    PiiBlocked,
    TooOld,
)
from shared.events import CallEvent
from shared.hits.ga4 import build_ga4_body, fit_ga4_body, owox_ga4_body
from shared.hits.identity import client_id_for
from shared.hits.ua import Hit, build_ua_hit, encode_hit, owox_hit
from shared.pii import find_pii
from shared.rules.ga4 import validate_ga4_body
from shared.rules.limits import (
    ADS_MAX_AGE,
    GA4_BODY_LIMIT,
    GA4_MAX_AGE,
    OWOX_GA4_MAX_AGE,
    OWOX_MAX_AGE,
    PAYLOAD_TOO_LARGE,
    UA_GET_LIMIT_GOOGLE,
    UA_MAX_AGE,
    VALUE_OUT_OF_BOUNDS,
    Target,
)
from shared.rules.ua import ParserMessage, ua_payload_limit, ua_size_messages, validate_ua_hit
from shared.settings import Settings

if TYPE_CHECKING:
    from urllib3._base_connection import BaseHTTPConnection

MAX_GET_URL_BYTES = UA_GET_LIMIT_GOOGLE


@dataclass(frozen=True)
class OutboundRequest:
    """One HTTP request to a destination, fully built and checked."""

    method: Literal["GET", "POST"]
    url: str
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # Reads (status, body) of an answer whose body says more than its status (Google Ads'
    # partial failures); it raises to override `send`'s classification.
    read_answer: Callable[[int, bytes], None] | None = None


Builder = Callable[[CallEvent, Settings, datetime], OutboundRequest]


@dataclass(frozen=True)
class Destination:
    """A named destination: its age limit, whether Google receives it, and its request builder."""

    name: str
    max_age: timedelta
    target: Target
    build: Builder


def build_owox_request(event: CallEvent, settings: Settings, now: datetime) -> OutboundRequest:
    """OWOX BI's UA access point: `GET {OWOX_ENDPOINT}/{property}?{base hit}&tel=…` (the seed).

    A hit too long for a URL is POSTed to the same path instead, as OWOX BI also accepts.
    """
    base = build_ua_hit(
        event, settings, client_id_for(event, settings.client_id_policy("owox")), now
    )
    hit = owox_hit(base, event.caller)
    query = _checked_payload(hit, "owox", event.phones)
    url = f"{settings.owox_endpoint}/{hit['tid']}"
    if len(url) + 1 + len(query) <= MAX_GET_URL_BYTES:
        return OutboundRequest("GET", f"{url}?{query}", None, _headers(settings))
    # OWOX BI takes hits up to 16 KB, but few front ends take URLs that long: POST the rest.
    headers = {**_headers(settings), "Content-Type": "application/x-www-form-urlencoded"}
    return OutboundRequest("POST", url, query.encode(), headers)


def build_ua_request(event: CallEvent, settings: Settings, now: datetime) -> OutboundRequest:
    """Google's UA collect endpoint: the base hit as a form-encoded POST body."""
    hit = build_ua_hit(event, settings, client_id_for(event, settings.client_id_policy("ua")), now)
    body = _checked_payload(hit, "google", event.phones).encode()
    headers = {**_headers(settings), "Content-Type": "application/x-www-form-urlencoded"}
    return OutboundRequest("POST", settings.ua_collect_url, body, headers)


def build_ga4_request(event: CallEvent, settings: Settings, now: datetime) -> OutboundRequest:
    """Google's GA4 Measurement Protocol: the JSON body POSTed with the stream's id and secret.

    Raises HitRejected when no measurement id or API secret is configured for the event.
    """
    measurement_id = event.measurement_id or settings.ga4_measurement_id
    if not measurement_id:
        raise HitRejected("no GA4 measurement id: set GA4_MEASUREMENT_ID or send measurement_id")
    api_secret = settings.ga4_secret_for(measurement_id)
    if not api_secret:
        raise HitRejected("no API secret for this measurement id: set GA4_API_SECRET(S)")
    body = _checked_ga4_body(event, settings, "ga4", now)
    query = urlencode({"measurement_id": measurement_id, "api_secret": api_secret})
    return OutboundRequest("POST", f"{settings.ga4_collect_url}?{query}", body, _json(settings))


def build_owox_ga4_request(event: CallEvent, settings: Settings, now: datetime) -> OutboundRequest:
    """OWOX BI's GA4 access point: the same JSON body POSTed to the streaming URL.

    Raises HitRejected when OWOX_GA4_URL is not set.
    """
    if not settings.owox_ga4_url:
        raise HitRejected("no OWOX BI GA4 streaming URL: set OWOX_GA4_URL")
    body = _checked_ga4_body(event, settings, "owox_ga4", now)
    return OutboundRequest("POST", settings.owox_ga4_url, body, _json(settings))


def build_google_ads_request(
    event: CallEvent, settings: Settings, now: datetime
) -> OutboundRequest:
    """Google Ads API: the call as one click conversion (shared/ads_client.py)."""
    # Imported here: the client uses this module's HTTP session.
    from shared.ads_client import build_ads_request

    return build_ads_request(event, settings, now)


DESTINATIONS: dict[str, Destination] = {
    destination.name: destination
    for destination in (
        Destination("owox", OWOX_MAX_AGE, "owox", build_owox_request),
        Destination("ua", UA_MAX_AGE, "google", build_ua_request),
        Destination("ga4", GA4_MAX_AGE, "google", build_ga4_request),
        # The age limit is the one difference from `ga4` besides the phone (OWOX_GA4_MAX_AGE).
        Destination("owox_ga4", OWOX_GA4_MAX_AGE, "owox", build_owox_ga4_request),
        Destination("google_ads", ADS_MAX_AGE, "google", build_google_ads_request),
    )
}


def prepare(destination: Destination, event: CallEvent, now: datetime) -> None:
    """Refuse an event the destination would drop: older than its limit raises TooOld."""
    if now - event.started_at > destination.max_age:
        raise TooOld(f"call started more than {_age_text(destination.max_age)} ago")


class _Deadline:
    """The connections one send uses, cut off together when its deadline passes.

    requests' `timeout` bounds each socket operation, so an answer dripped a byte at a time
    never times out: at the deadline a timer shuts the sockets down, which ends the blocked
    read at once. A connect under way then ends at its own timeout, and no retry starts.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: list[BaseHTTPConnection] = []
        self.expired = False

    def watch(self, connection: BaseHTTPConnection) -> None:
        with self._lock:
            if self.expired:
                raise ConnectTimeoutError(connection, "send deadline passed")
            self._connections.append(connection)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = [getattr(c, "sock", None) for c in self._connections]
        for sock in sockets:
            if isinstance(sock, socket.socket):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


_current = threading.local()


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[_Deadline]:
    deadline = _Deadline()
    timer = threading.Timer(seconds, deadline.expire)
    timer.daemon = True
    _current.deadline = deadline
    timer.start()
    try:
        yield deadline
    finally:
        timer.cancel()
        _current.deadline = None


class _WatchedPool(HTTPConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> BaseHTTPConnection:
        connection = super()._get_conn(timeout)
        deadline: _Deadline | None = getattr(_current, "deadline", None)
        if deadline is not None:
            deadline.watch(connection)
        return connection


class _WatchedHTTPSPool(_WatchedPool, HTTPSConnectionPool):
    pass


class _DeadlineAdapter(HTTPAdapter):
    """An adapter whose pools hand every connection they lend to the current send's deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedPool,
            "https": _WatchedHTTPSPool,
        }


@functools.cache
def http_session() -> requests.Session:
    """The process-wide HTTP session with a connection pool, made on first use."""
    session = requests.Session()
    # Retry connection failures only: a hit is not idempotent, so a sent one is never re-sent.
    retry = Retry(total=2, connect=2, read=0, status=0, other=0, backoff_factor=0.2)
    adapter = _DeadlineAdapter(max_retries=retry, pool_connections=4, pool_maxsize=32)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def send(request: OutboundRequest, settings: Settings) -> int:
    """Send and classify the answer within HTTP_TIMEOUT_SECONDS in all: returns the 2xx status.

    Raises DestinationUnavailable (deadline passed, connection error, 408, 429, 5xx) or
    DestinationRejected (any other status).
    """
    timeout_s = settings.http_timeout_s
    with _deadline(timeout_s) as deadline:
        try:
            response = http_session().request(
                request.method,
                request.url,
                data=request.body,
                headers=dict(request.headers),
                timeout=timeout_s,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            # A body cut off mid-read is a ChunkedEncodingError, not a Timeout: all are transient.
            what = f"no answer within {timeout_s:g} s" if deadline.expired else type(error).__name__
            raise DestinationUnavailable(f"{what} from destination") from None
    status = response.status_code
    # requests has read the body already (no stream=True), within the deadline.
    answer = response.content if request.read_answer is not None else b""
    response.close()
    if request.read_answer is not None:
        request.read_answer(status, answer)
    if 200 <= status < 300:
        return status
    if status in (408, 429) or status >= 500:
        raise DestinationUnavailable(f"destination answered HTTP {status}")
    raise DestinationRejected(f"destination answered HTTP {status}")


def _checked_payload(hit: Hit, target: Target, phones: tuple[str, ...]) -> str:
    if target == "google":
        guard_pii(hit, phones)
    payload = encode_hit(hit)
    # The hit's rules once, on the dict; the size on the bytes that will be sent.
    messages = validate_ua_hit(hit, target) + ua_size_messages(len(payload.encode()), target)
    errors = [m for m in messages if m.message_type == "ERROR"]
    if any(m.message_code == PAYLOAD_TOO_LARGE for m in errors):
        raise HitTooLarge(f"payload over {ua_payload_limit(target)} bytes")
    if errors:
        raise HitRejected(_describe(errors))
    return payload


def _checked_ga4_body(
    event: CallEvent, settings: Settings, destination: str, now: datetime
) -> bytes:
    client_id = client_id_for(event, settings.client_id_policy(destination))
    body = build_ga4_body(event, settings, client_id, now)
    # The seed's rule: Google's body must prove no phone hides in it; OWOX BI's is that same
    # body plus the caller's phone, so the two differ by `tel` alone.
    if DESTINATIONS[destination].target == "google":
        guard_pii(body, event.phones)
    else:
        body = owox_ga4_body(body, event.caller)
    body = fit_ga4_body(body)
    encoded = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    # GA4 takes events back-dated by 72 hours; OWOX BI's access point keeps older ones too.
    problems = validate_ga4_body(encoded, now, max_age=DESTINATIONS[destination].max_age)
    if any(m.validation_code == VALUE_OUT_OF_BOUNDS and not m.field_path for m in problems):
        raise HitTooLarge(f"body over {GA4_BODY_LIMIT} bytes")
    if problems:
        raise HitRejected("; ".join(f"{m.validation_code} {m.field_path}" for m in problems))
    return encoded


def guard_pii(values: Mapping[str, object], phones: tuple[str, ...]) -> None:
    """The last step before Google: raises PiiBlocked if any parameter carries a phone or e-mail."""
    offending = find_pii(values, phones)
    if offending:
        # Parameter names only, never the values that matched.
        raise PiiBlocked("personal data in " + ", ".join(sorted(offending)))


def _describe(messages: list[ParserMessage]) -> str:
    # Codes and parameter names only: a value could be a phone number.
    return "; ".join(f"{m.message_code} {m.parameter or 'hit'}" for m in messages)


def _headers(settings: Settings) -> dict[str, str]:
    # An explicit User-Agent: hits with a library default were reported as silently dropped.
    return {"User-Agent": settings.user_agent}


def _json(settings: Settings) -> dict[str, str]:
    return {**_headers(settings), "Content-Type": "application/json"}


def _age_text(age: timedelta) -> str:
    hours = int(age.total_seconds() // 3600)
    return f"{hours // 24} days" if hours >= 48 else f"{hours} hours"
