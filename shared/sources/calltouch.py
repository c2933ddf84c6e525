"""Source `calltouch`: Calltouch lead webhooks with the parameters we ask for, token in the URL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.events import CallStatus, parse_event
from shared.settings import Settings
from shared.sources import decode, fields, tokens
from shared.sources.base import Parsed, WebhookRequest

NAME = "calltouch"
METHODS = frozenset({"POST", "GET"})
CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "application/json"})
AUTH_HEADERS: tuple[str, ...] = ()
AUTH_QUERY = (tokens.QUERY_TOKEN,)
# Calltouch can fire at call start and at call end; only the end is an outcome. Which phase
# names it sends is configurable, so anything not clearly a start counts as the end.
_STARTED_PHASES = frozenset({"callconnected", "call_start", "callstart", "start", "ringing"})
_CUSTOM = {
    "source": "source",
    "medium": "medium",
    "keyword": "keyword",
    "ctClientId": "ct_client_id",
    "sessionId": "ct_session_id",
    "yaClientId": "ya_client_id",
    "callbackCall": "callback_call",
}


def verify(request: WebhookRequest, secrets: Sequence[str]) -> None:
    """Check the `token` query parameter (Calltouch signs nothing); raises BadSignature."""
    tokens.verify_query_token(request, secrets)


def parse(request: WebhookRequest, settings: Settings) -> Parsed:
    """A call-end webhook is one call event; a call-start webhook is acknowledged and noted."""
    call = decode.request_fields(request, exclude=frozenset({tokens.QUERY_TOKEN}))
    phase = (fields.text(call.get("callphase"), "callphase") or "").lower()
    if phase in _STARTED_PHASES:
        return Parsed([], note="call-start webhook; waiting for the call-end one")
    return Parsed([parse_event(_event_fields(call, settings), settings.default_phone_region)])


def _event_fields(call: dict[str, Any], settings: Settings) -> dict[str, Any]:
    answered = fields.boolean(call.get("successful"), "successful")
    # `callbackCall` marks a call ordered through the site's callback form: Calltouch dials
    # out, but it is the customer's request, so it stays their inbound call, and
    # `callerphone` stays the customer's number.
    return {
        "source": NAME,
        "call_id": fields.text(call.get("callId"), "callId"),
        "status": CallStatus.ANSWERED if answered else CallStatus.MISSED,
        "direction": "inbound",
        "started_at": fields.instant(
            fields.first(call, "timestamp", "callTime", "date"),
            "timestamp",
            settings.timezone_for(NAME),
        ),
        "duration_s": fields.integer(call.get("duration"), "duration"),
        "talk_s": fields.integer(call.get("talkTime"), "talkTime"),
        "caller": fields.caller_phone(call.get("callerphone"), "callerphone"),
        "tracking_number": fields.line_phone(
            call.get("phonenumber"), settings.default_phone_region
        ),
        "client_id": fields.client_id(fields.first(call, "gcid", "ga_client_id")),
        "session_id": fields.text(call.get("ga_session_id"), "ga_session_id"),
        **fields.attribution(call),
        "landing_page": fields.text(call.get("url"), "url"),
        "referrer": fields.text(call.get("ref"), "ref"),
        "first_call": fields.boolean(call.get("uniqueCall"), "uniqueCall"),
        "lead_status": _lead_status(call),
        "custom": fields.custom(call, _CUSTOM),
    }


def _lead_status(call: dict[str, Any]) -> str | None:
    """Calltouch's qualification: a target call, and a unique target one (first of its kind).

    None when neither flag was sent: the user did not ask for them.
    """
    if fields.boolean(call.get("uniqTargetCall"), "uniqTargetCall"):
        return "unique_target"
    target = fields.boolean(call.get("targetCall"), "targetCall")
    if target is None:
        return None
    return "target" if target else "not_target"
