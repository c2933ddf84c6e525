"""Source `dialpad`: call event subscriptions whose body is a JWT signed HS256 with the secret.

One customer call is several Dialpad calls ("legs"): a call to a call center or department is a
call for the entry point plus one operator call per agent rung, each operator call naming the
entry point's `call_id` as its `entry_point_call_id`. Only the customer's own call (the one that
names no other call as its entry point or master) publishes, so one real call is one event.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.errors import BadPayload, BadSignature
from shared.events import CallStatus, parse_event
from shared.settings import Settings
from shared.sources import decode, fields
from shared.sources.base import POST_ONLY, Parsed, WebhookRequest

NAME = "dialpad"
METHODS = POST_ONLY
# Dialpad does not document the media type of the JWT body. Public receivers register a parser
# for application/jwt; text/plain and application/json are kept for webhooks configured
# before, since the signature, not the label, is what we trust.
CONTENT_TYPES = frozenset({"application/jwt", "text/plain", "application/json"})
# The body itself is the signed JWT: no header or query parameter carries a credential.
AUTH_HEADERS: tuple[str, ...] = ()
AUTH_QUERY: tuple[str, ...] = ()
ALGORITHM = "HS256"
# Dialpad retries within ~15 s; an `iat` older than this is a replay, if the claim is there.
MAX_AGE = timedelta(hours=1)
MAX_SKEW = timedelta(minutes=5)
_MAX_HEADER_CHARS = 512  # a JWT header is a few dozen bytes; bounds work before verifying
# `hangup` ends every call; `voicemail` is sent when the call reaches voicemail, before hangup.
HANGUP = "hangup"
VOICEMAIL_STATES = frozenset({"voicemail", "voicemail_uploaded"})
OUTCOME_STATES = VOICEMAIL_STATES | {HANGUP}
# Where the customer talked to a person: an agent's own line, or an operator of a group.
_PERSON_TARGET = "user"
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
    """The customer's call's `hangup` or voicemail is its one event; other states and legs are
    acknowledged with a note. Raises BadPayload for a body that is not a JWT of a JSON object.
    """
    try:
        call = _segment_json(_compact(request.body).split(".")[1], "JWT claims")
    except BadSignature as error:
        raise BadPayload(error.detail) from None
    state = fields.text(call.get("state"), "state")
    if state not in OUTCOME_STATES:
        return Parsed([], note=f"state {str(state)[:32]} is not a call outcome; waiting for hangup")
    parent = _parent_call(call)
    if parent is not None:
        return Parsed([], note=f"a leg of call {parent[:32]}; that call carries the outcome")
    event = parse_event(_event_fields(call, state, settings), settings.default_phone_region)
    return Parsed([event])


def _parent_call(call: Mapping[str, Any]) -> str | None:
    """The call this one is a leg of (an operator's ring, a later stage), or None for the
    customer's own call; a call naming itself as its entry point is a direct one.
    """
    own = fields.text(call.get("call_id"), "call_id")
    for name in ("entry_point_call_id", "master_call_id"):
        other = fields.text(call.get(name), name)
        if other is not None and other != own:
            return other
    return None


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


def _event_fields(call: Mapping[str, Any], state: str, settings: Settings) -> dict[str, Any]:
    started = fields.instant(
        fields.first(call, "date_started", "date_rang", "event_timestamp"), "date_started", UTC
    )
    connected = fields.instant(call.get("date_connected"), "date_connected", UTC)
    ended = fields.instant(call.get("date_ended"), "date_ended", UTC)
    outbound = fields.text(call.get("direction"), "direction") == "outbound"
    status = _status(call, state, connected)
    return {
        "source": NAME,
        "call_id": fields.text(call.get("call_id"), "call_id"),
        "status": status,
        "direction": "outbound" if outbound else "inbound",
        "started_at": started,
        "duration_s": _seconds(started, ended),
        # Time connected to an IVR or a voicemail greeting is nobody's talk.
        "talk_s": _seconds(connected, ended) if status is CallStatus.ANSWERED else None,
        # external_number is the customer in both directions.
        "caller": fields.caller_phone(call.get("external_number"), "external_number"),
        "tracking_number": fields.line_phone(
            _our_number(call, outbound), settings.default_phone_region
        ),
        "recording_available": fields.boolean(call.get("was_recorded"), "was_recorded"),
    }


def _status(call: Mapping[str, Any], state: str, connected: datetime | None) -> CallStatus:
    if state in VOICEMAIL_STATES or fields.first(call, "voicemail_link", "voicemail_recording_id"):
        return CallStatus.VOICEMAIL
    # A group's call is connected once its IVR or queue picks up; an agent took it only when it
    # names the operator's call. A direct call's target is the agent.
    person = call.get("operator_call_id") or _target_type(call) == _PERSON_TARGET
    return CallStatus.ANSWERED if connected and person else CallStatus.MISSED


def _target_type(call: Mapping[str, Any]) -> str | None:
    target = call.get("target")
    return fields.text(target.get("type"), "target.type") if isinstance(target, dict) else None


def _our_number(call: Mapping[str, Any], outbound: bool) -> Any:
    # The number the customer dialled (inbound) or saw (outbound: the caller id the agent used);
    # internal_number can be the answering agent's own line, or "blocked".
    party = call.get("proxy_target" if outbound else "entry_point_target")
    dialled = party.get("phone") if isinstance(party, dict) else None
    return dialled or call.get("internal_number")


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None or end < start:
        return None
    return round((end - start).total_seconds())
