"""Source `dialpad`: call event subscriptions whose body is a JWT signed HS256 with the secret."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

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
_MAX_HEADER_CHARS = 512  # a JWT header is a few dozen bytes; bounds parsing before verifying
# Dialpad emits one event per call state; hangup is the last for every call.
OUTCOME_STATE = "hangup"


def sign(secret: str, claims: dict[str, Any]) -> bytes:
    """The body Dialpad would send for `claims` (a compact HS256 JWT)."""
    return jwt.encode(claims, secret, algorithm=ALGORITHM).encode()


def verify(request: WebhookRequest, secrets: Sequence[str]) -> None:
    """Check the body's HS256 JWT signature against each secret, then `exp` and `iat`.

    Raises BadSignature; `alg` is pinned, so `none` and other algorithms never verify.
    """
    token = _compact(request.body)
    if len(token.split(".", 1)[0]) > _MAX_HEADER_CHARS:
        raise BadSignature("JWT header too long")
    for secret in secrets:
        try:
            jwt.PyJWS().decode(token, secret, algorithms=[ALGORITHM])
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError:
            raise BadSignature("body is not an HS256 JWT") from None
        _check_times(_claims(token, BadSignature), request.received_at)
        return
    raise BadSignature("JWT signature does not match")


def parse(request: WebhookRequest, settings: Settings) -> Parsed:
    """The `hangup` state is one call event; every other state is acknowledged and noted."""
    call = _claims(_compact(request.body), BadPayload)
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


def _claims(token: str, error: type[BadSignature] | type[BadPayload]) -> dict[str, Any]:
    segment = token.split(".")[1]
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return decode.json_object(raw, "JWT claims")
    except (binascii.Error, ValueError, BadPayload):
        raise error("JWT claims are not a JSON object") from None


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
