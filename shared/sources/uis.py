"""Source `uis`: CallGear / UIS (CoMagic) event notifications, token in the URL.

UIS fills a body template the user writes, with `{{variable}}` placeholders, and sends it to the
URL of each notification. The published templates put placeholders bare (`"x": {{x}}`), and UIS
writes each value as a JSON literal: strings quoted, numbers bare, `null` when empty. A template
that quotes placeholders, or a GET/form notification, gives the same values as text; both read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from shared.errors import BadPayload
from shared.events import CallStatus, parse_event
from shared.settings import Settings
from shared.sources import decode, fields, tokens
from shared.sources.base import Parsed, WebhookRequest

NAME = "uis"
METHODS = frozenset({"POST", "GET"})
CONTENT_TYPES = frozenset({"application/json", "application/x-www-form-urlencoded"})
AUTH_HEADERS: tuple[str, ...] = ()
AUTH_QUERY = (tokens.QUERY_TOKEN,)
# A notification's body does not reliably say which event it reports (its name is the user's
# label), so each outcome notification has its own path: "Call ended" → /uis/ended,
# "Lost call" → /uis/lost. A lost call is reported by both, under one call_session_id.
ENDED = "ended"
LOST = "lost"
# `direction` values of the call-ended notification (and of the Data API's calls report).
_INBOUND = "in"
_OUTBOUND = "out"
# Notification variables worth a custom dimension (names as UIS spells them).
_CUSTOM = {"scenario_name": "scenario_name", "call_source": "call_source"}
_TALK = "talk_time_duration"
_MISSING_TALK_TIME = (
    "call-ended notification without talk_time_duration: cannot tell answered from lost; "
    "add talk_time_duration to its body template. Nothing published"
)


def verify(request: WebhookRequest, secrets: Sequence[str]) -> None:
    """Check the `token` query parameter (UIS signs nothing); raises BadSignature."""
    tokens.verify_query_token(request, secrets)


def parse(request: WebhookRequest, settings: Settings) -> Parsed:
    """`/uis/ended` and `/uis/lost` are call outcomes; any other notification is noted.

    Raises BadPayload when the body cannot be read or a variable has the wrong shape.
    """
    kind = request.subpath.strip("/").lower()
    if kind not in (ENDED, LOST):
        return Parsed([], note="not a call-ended or lost-call notification; nothing published")
    call = decode.request_fields(request, exclude=frozenset({tokens.QUERY_TOKEN}))
    if kind == ENDED and _TALK not in call:
        return Parsed([], note=_MISSING_TALK_TIME)
    event = _event_fields(call, kind, settings)
    return Parsed([parse_event(event, settings.default_phone_region)])


def _status(kind: str, talk_s: int | None) -> CallStatus:
    # A lost call is one no employee talked on; the call-ended notification reports every call,
    # lost or not, and talk time is what tells them apart (an empty value means none).
    if kind == LOST or not talk_s:
        return CallStatus.MISSED
    return CallStatus.ANSWERED


def _durations(call: dict[str, Any], kind: str) -> tuple[int | None, int | None]:
    """(whole call, talk) in seconds. A lost call's whole length is its wait for an answer."""
    if kind == LOST:
        return fields.integer(call.get("wait_time_duration"), "wait_time_duration"), 0
    total = fields.integer(call.get("total_time_duration"), "total_time_duration")
    return total, fields.integer(call.get(_TALK), _TALK)


def _direction(call: dict[str, Any]) -> str:
    # The lost-call notification has no `direction` variable: a lost call is an incoming one.
    direction = (fields.text(call.get("direction"), "direction") or _INBOUND).lower()
    if direction not in (_INBOUND, _OUTBOUND):
        raise BadPayload("direction: expected in or out", field="direction")
    return "outbound" if direction == _OUTBOUND else "inbound"


def _started_at(call: dict[str, Any], duration_s: int | None, settings: Settings) -> datetime:
    """`start_time` when the template has it, else the notification's time less the call."""
    zone = settings.timezone_for(NAME)
    start = fields.instant(call.get("start_time"), "start_time", zone)
    if start is not None:
        return start
    sent = fields.instant(call.get("notification_time"), "notification_time", zone)
    if sent is None:
        raise BadPayload("start_time or notification_time is required", field="start_time")
    return sent - timedelta(seconds=duration_s or 0)


def _event_fields(call: dict[str, Any], kind: str, settings: Settings) -> dict[str, Any]:
    duration_s, talk_s = _durations(call, kind)
    direction = _direction(call)
    outbound = direction == "outbound"
    # The contact is the customer in both directions; the virtual number is the business line.
    customer = fields.first(
        call, "contact_phone_number", "called_phone_number" if outbound else "calling_phone_number"
    )
    line = fields.first(
        call, "virtual_phone_number", "calling_phone_number" if outbound else "called_phone_number"
    )
    return {
        "source": NAME,
        "call_id": fields.text(call.get("call_session_id"), "call_session_id"),
        "status": _status(kind, talk_s),
        "direction": direction,
        "started_at": _started_at(call, duration_s, settings),
        "duration_s": duration_s,
        "talk_s": talk_s,
        "caller": fields.caller_phone(customer, "contact_phone_number"),
        "tracking_number": fields.line_phone(line, settings.default_phone_region),
        "client_id": fields.client_id(call.get("ga_client_id")),
        **fields.attribution(call),
        "custom": fields.custom(call, _CUSTOM),
    }
