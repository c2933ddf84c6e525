"""Source `dialpad`: call event subscriptions whose body is a JWT signed HS256 with the secret."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.errors import BadPayload, BadSignature
from shared.events import CallStatus, parse_event
from shared.settings import Settings
from shared.sources import decode, fields
from shared.sources.base import POST_ONLY, Parsed, WebhookRequest

NAME = "dialpad"
METHODS = POST_ONLY
# The body is a compact JWT; which media type Dialpad labels it with is not documented.
CONTENT_TYPES = frozenset({"application/jwt", "text/plain", "application/json"})
ALGORITHM = "HS256"
# Dialpad retries within ~15 s; an `iat` older than this is a replay, if the claim is there.
MAX_AGE = timedelta(hours=1)
MAX_SKEW = timedelta(minutes=5)
_MAX_HEADER_CHARS = 512  # a JWT header is a few dozen bytes; bounds work before verifying
# Dialpad emits one event per call state; hangup is the last for every call.
OUTCOME_STATE = "hangup"
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def verify(request: WebhookRequest, secrets: Sequence[str]) -> None:
    """Check the body's HS256 JWT signature against each secret, then `exp` and `iat`.

    Raises BadSignature; `alg` is pinned, so `none` and other algorithms never verify.
    """
    token = _compact(request.body)
    header_segment, payload_segment, signature_segment = token.split(".")
    if len(header_segment) > _MAX_HEADER_CHARS:
        raise BadSignature("JWT header too long")
    header = _segment_json(header_segment, "JWT header")
    if header.get("alg") != ALGORITHM:
        raise BadSignature("JWT alg must be HS256")
    offered = _segment_bytes(signature_segment, "JWT signature")
    signed = f"{header_segment}.{payload_segment}".encode()
    # Our own HMAC check rather than a JWT library's: no key-length warnings per request, and
    # the comparison is visibly constant-time.
    if not any(
        hmac.compare_digest(hmac.new(secret.encode(), signed, hashlib.sha256).digest(), offered)
        for secret in secrets
    ):
        raise BadSignature("JWT signature does not match")
    _check_times(_segment_json(payload_segment, "JWT claims"), request.received_at)


def parse(request: WebhookRequest, settings: Settings) -> Parsed:
    """The `hangup` state is one call event; every other state is acknowledged and noted."""
    try:
        call = _segment_json(_compact(request.body).split(".")[1], "JWT claims")
    except BadSignature as error:
        raise BadPayload(error.detail) from None
    state = call.get("state")
    if state != OUTCOME_STATE:
        return Parsed([], note=f"state {str(state)[:32]} is not a call outcome; waiting for hangup")
    return Parsed([parse_event(_event_fields(call, settings), settings.default_phone_region)])


def _compact(body: bytes) -> str:
    try:
        token = body.decode("ascii").strip()
    except UnicodeDecodeError:
        raise BadSignature("body is not a JWT") from None
    if token.count(".") != 2:
        raise BadSignature("body is not a JWT")
    return token


def _segment_bytes(segment: str, what: str) -> bytes:
    # The decoder skips stray characters; a JWT segment has none, so refuse them first.
    if not _BASE64URL.fullmatch(segment):
        raise BadSignature(f"{what} is not base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise BadSignature(f"{what} is not base64url") from None


def _segment_json(segment: str, what: str) -> dict[str, Any]:
    try:
        return decode.json_object(_segment_bytes(segment, what), what)
    except BadPayload:
        raise BadSignature(f"{what} is not a JSON object") from None


def _check_times(claims: dict[str, Any], now: datetime) -> None:
    for name in ("exp", "iat"):
        value = claims.get(name)
        if value is None:
            continue
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise BadSignature(f"JWT {name} is not a number")
        try:
            moment = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise BadSignature(f"JWT {name} is out of range") from None
        if name == "exp" and now > moment + MAX_SKEW:
            raise BadSignature("JWT has expired")
        if name == "iat" and not now - MAX_AGE <= moment <= now + MAX_SKEW:
            raise BadSignature("JWT iat outside the tolerance window")


def _event_fields(call: dict[str, Any], settings: Settings) -> dict[str, Any]:
    started = fields.instant(call.get("date_started"), "date_started", UTC)
    connected = fields.instant(call.get("date_connected"), "date_connected", UTC)
    ended = fields.instant(call.get("date_ended"), "date_ended", UTC)
    outbound = fields.text(call.get("direction"), "direction") == "outbound"
    return {
        "source": NAME,
        "call_id": fields.text(call.get("call_id"), "call_id"),
        "status": CallStatus.ANSWERED if connected else CallStatus.MISSED,
        "direction": "outbound" if outbound else "inbound",
        "started_at": started,
        "duration_s": _seconds(started, ended),
        "talk_s": _seconds(connected, ended),
        # external_number is the customer in both directions; internal_number is our line.
        "caller": fields.caller_phone(call.get("external_number"), "external_number"),
        "tracking_number": fields.line_phone(
            call.get("internal_number"), settings.default_phone_region
        ),
    }


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None or end < start:
        return None
    return round((end - start).total_seconds())
