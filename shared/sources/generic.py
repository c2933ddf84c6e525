"""Source `generic`: our own call-event JSON, signed with the Standard Webhooks scheme."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime

from shared.errors import BadPayload, BadSignature
from shared.events import parse_event
from shared.settings import Settings
from shared.sources import decode
from shared.sources.base import POST_ONLY, Parsed, WebhookRequest

NAME = "generic"
METHODS = POST_ONLY
CONTENT_TYPES = frozenset({"application/json"})
TOLERANCE_S = 300  # Standard Webhooks: five minutes either way
MAX_EVENTS = 100
SECRET_PREFIX = "whsec_"  # noqa: S105 (the scheme's prefix, not a secret)
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
AUTH_HEADERS = (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)
AUTH_QUERY: tuple[str, ...] = ()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64>` signature of a message; what a sender puts in `webhook-signature`."""
    return "v1," + _signature(_key(secret), _signed_content(msg_id, timestamp, body)).decode()


def verify(request: WebhookRequest, secrets: Sequence[str]) -> None:
    """Check `webhook-id`, `webhook-timestamp` and any `v1` signature on the raw body."""
    msg_id = request.auth_header(ID_HEADER)
    raw_timestamp = request.auth_header(TIMESTAMP_HEADER)
    signatures = request.auth_header(SIGNATURE_HEADER, list_valued=True)
    if not msg_id or not raw_timestamp or not signatures:
        raise BadSignature("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise BadSignature("webhook-timestamp is not an integer") from None
    check_timestamp(timestamp, request.received_at, TOLERANCE_S)
    offered = [
        entry.split(",", 1)[1].encode()
        for entry in signatures.split(" ")
        if entry.startswith("v1,")
    ]
    content = _signed_content(msg_id, timestamp, request.body)
    for secret in secrets:
        expected = _signature(_key(secret), content)
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return
    raise BadSignature("no signature matches")


def _signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode() + body


def _signature(key: bytes, content: bytes) -> bytes:
    """The base64 HMAC-SHA256 of the signed content, as `v1,` signatures carry it."""
    return base64.b64encode(hmac.digest(key, content, hashlib.sha256))


def check_timestamp(timestamp: int, now: datetime, tolerance_s: int) -> None:
    """Raise BadSignature when a signed timestamp is too far in the past or the future."""
    if abs(now.timestamp() - timestamp) > tolerance_s:
        raise BadSignature("timestamp outside the tolerance window")


def parse(request: WebhookRequest, settings: Settings) -> Parsed:
    """One call event or a JSON array of up to 100, with the call event's field names."""
    document = decode.json_value(request.body)
    items = document if isinstance(document, list) else [document]
    if not items:
        raise BadPayload("empty array: send at least one call event")
    if len(items) > MAX_EVENTS:
        raise BadPayload(f"at most {MAX_EVENTS} events per request")
    events = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadPayload("each call event must be a JSON object", field=_at(document, index))
        try:
            if item.get("source", NAME) != NAME:
                # The URL names the source; a body claiming another could collide event ids.
                raise BadPayload("source is set by the webhook URL", field="source")
            events.append(parse_event({**item, "source": NAME}, settings.default_phone_region))
        except BadPayload as error:
            field = _at(document, index, error.field)
            raise BadPayload(f"{field}: {error.detail.split(': ', 1)[-1]}", field=field) from None
    return Parsed(events)


def _at(document: object, index: int, field: str | None = None) -> str:
    prefix = f"[{index}]" if isinstance(document, list) else ""
    return f"{prefix}.{field}" if prefix and field else (field or prefix or "body")


@functools.lru_cache(maxsize=16)  # a deployment has one or two secrets (rotation)
def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        # The reference library tolerates missing padding; so do we.
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise BadSignature("secret is not whsec_<base64>") from None
