"""Source `twilio`: Voice status callbacks, signed with `X-Twilio-Signature` over URL and fields."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from datetime import UTC, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from shared.errors import BadPayload, BadSignature
from shared.events import CallStatus, parse_event
from shared.settings import Settings
from shared.sources import decode, fields
from shared.sources.base import Parsed, WebhookRequest

NAME = "twilio"
METHODS = frozenset({"POST", "GET"})  # statusCallbackMethod may be GET
CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "application/json"})
BODY_HASH = "bodySHA256"
# Callbacks come within seconds; Twilio never redelivers late. A signed Timestamp older than
# this is a replay.
TOLERANCE = timedelta(hours=1)

_OUTCOMES = {
    "completed": CallStatus.ANSWERED,
    "busy": CallStatus.BUSY,
    "no-answer": CallStatus.MISSED,
    "canceled": CallStatus.MISSED,
    "failed": CallStatus.FAILED,
}
_IN_PROGRESS = frozenset({"queued", "initiated", "ringing", "in-progress"})
# Our own query parameters on the callback URL (covered by the signature) carry attribution.
_ATTRIBUTION = ("client_id", "user_id", *fields.ATTRIBUTION_FIELDS, "landing_page")


def sign(auth_token: str, url: str, params: Iterable[tuple[str, str]] = ()) -> str:
    """Base64 HMAC-SHA1 of the URL plus every field as name+value, sorted like Twilio's SDK."""
    grouped: dict[str, set[str]] = {}
    for name, value in params:
        grouped.setdefault(name, set()).add(value)
    payload = url + "".join(
        name + value for name in sorted(grouped) for value in sorted(grouped[name])
    )
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def body_hash(body: bytes) -> str:
    """The `bodySHA256` query value Twilio adds to the URL of a JSON callback."""
    return hashlib.sha256(body).hexdigest()


def verify(request: WebhookRequest, secrets: Sequence[str]) -> None:
    """Check `X-Twilio-Signature` (and `bodySHA256` for JSON) and the signed Timestamp's age.

    Raises BadSignature.
    """
    offered = request.auth_header("x-twilio-signature").strip().encode()
    if not offered:
        raise BadSignature("missing X-Twilio-Signature header")
    params = _signed_params(request)
    urls = _url_variants(request.public_url)
    if not any(
        hmac.compare_digest(sign(token, url, params).encode(), offered)
        for token in secrets
        for url in urls
    ):
        raise BadSignature("signature does not match")
    _check_age(dict(params) if params else _query_fields(request), request)


def parse(request: WebhookRequest, settings: Settings) -> Parsed:
    """A terminal CallStatus is one call event; queued, ringing and in-progress are noted."""
    call = _fields(request)
    status = fields.text(call.get("CallStatus"), "CallStatus")
    if status in _IN_PROGRESS:
        return Parsed([], note=f"CallStatus {status} is not a call outcome yet")
    if status not in _OUTCOMES:
        raise BadPayload("CallStatus: not a Twilio call status", field="CallStatus")
    outbound = (fields.text(call.get("Direction"), "Direction") or "").startswith("outbound")
    customer, line = ("To", "From") if outbound else ("From", "To")
    query = decode.single_values(decode.form(request.query, "query string"), "query string")
    event = {
        "source": NAME,
        "call_id": fields.text(call.get("CallSid"), "CallSid"),
        "status": _OUTCOMES[status],
        "direction": "outbound" if outbound else "inbound",
        # Status callbacks carry no start time: the reference takes the event's Timestamp.
        "started_at": fields.instant(call.get("Timestamp"), "Timestamp", UTC)
        or request.received_at,
        "duration_s": fields.integer(call.get("CallDuration"), "CallDuration"),
        "caller": _customer_number(call.get(customer), customer),
        "tracking_number": fields.line_phone(call.get(line), settings.default_phone_region),
        **{name: query[name] for name in _ATTRIBUTION if query.get(name)},
    }
    return Parsed([parse_event(event, settings.default_phone_region)])


def _signed_params(request: WebhookRequest) -> list[tuple[str, str]]:
    if request.content_type == "application/json" and request.body:
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        if not hmac.compare_digest(
            query.get(BODY_HASH, "").encode(), body_hash(request.body).encode()
        ):
            raise BadSignature("bodySHA256 does not match the body")
        return []  # a JSON callback signs the URL alone
    if not request.body:
        return []
    try:
        return parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadSignature("form body cannot be read") from None


def _url_variants(url: str) -> list[str]:
    # Twilio's SDKs accept the URL with the default port added and removed: proxies differ.
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # a forwarded host header can carry any text
        return [url]
    if not parts.hostname:
        return [url]
    default_port = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname if port in (None, default_port) else parts.netloc
    with_port = f"{parts.hostname}:{default_port}" if port in (None, default_port) else host
    variants = [urlunsplit(parts._replace(netloc=netloc)) for netloc in (host, with_port)]
    return [url, *(variant for variant in variants if variant != url)]


def _check_age(call: dict[str, str], request: WebhookRequest) -> None:
    raw = call.get("Timestamp")
    if not raw:
        return
    try:
        moment = fields.instant(raw, "Timestamp", UTC)
    except BadPayload:
        raise BadSignature("Timestamp cannot be read") from None
    if moment is not None and abs(request.received_at - moment) > TOLERANCE:
        raise BadSignature("Timestamp outside the tolerance window")


def _query_fields(request: WebhookRequest) -> dict[str, str]:
    return dict(parse_qsl(request.query, keep_blank_values=True))


def _fields(request: WebhookRequest) -> dict[str, Any]:
    if request.method == "GET" or not request.body:
        return decode.single_values(decode.form(request.query, "query string"), "query string")
    if request.content_type == "application/json":
        return decode.flat_fields(decode.json_object(request.body))
    return decode.single_values(decode.form(decode.utf8(request.body)))


def _customer_number(value: Any, name: str) -> str | None:
    number = fields.caller_phone(value, name)
    # Twilio Client and SIP legs are addresses, not phone numbers: no `tel` to send.
    if number is None or number.lower().startswith(("client:", "sip:")):
        return None
    return number
