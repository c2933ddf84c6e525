"""Source `aircall`: Aircall's JSON webhooks, authenticated by the webhook token in the body."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from shared.errors import BadPayload, BadSignature
from shared.events import CallStatus, parse_event
from shared.settings import Settings
from shared.sources import decode, fields
from shared.sources.base import POST_ONLY, Parsed, WebhookRequest, constant_time_in

NAME = "aircall"
METHODS = POST_ONLY
CONTENT_TYPES = frozenset({"application/json"})
# The webhook token rides in the JSON body (`token`), not in a header or the query.
AUTH_HEADERS: tuple[str, ...] = ()
AUTH_QUERY: tuple[str, ...] = ()
# call.ended comes ~30 s after call.hungup, with the final duration: the one outcome we send.
OUTCOME_EVENT = "call.ended"


def verify(request: WebhookRequest, secrets: Sequence[str]) -> None:
    """Check the envelope's `token` against the webhook tokens; raises BadSignature.

    Aircall signs nothing, so the body must be read to find the token; no replay window
    (Aircall's retries can be hours late).
    """
    try:
        envelope = decode.json_object(request.body)
    except BadPayload:
        raise BadSignature("body is not an Aircall webhook envelope") from None
    token = envelope.get("token")
    if not isinstance(token, str) or not constant_time_in(token, secrets):
        raise BadSignature("token does not match")


def parse(request: WebhookRequest, settings: Settings) -> Parsed:
    """`call.ended` is one call event; every other event is acknowledged and noted."""
    envelope = decode.json_object(request.body)
    event = envelope.get("event")
    if event != OUTCOME_EVENT:
        return Parsed([], note=f"{str(event)[:64]} is not a call outcome; waiting for call.ended")
    call = envelope.get("data")
    if not isinstance(call, dict):
        raise BadPayload("data: expected the call object", field="data")
    return Parsed([parse_event(_event_fields(call, settings), settings.default_phone_region)])


def _event_fields(call: dict[str, Any], settings: Settings) -> dict[str, Any]:
    started = fields.integer(call.get("started_at"), "data.started_at")
    answered = fields.integer(call.get("answered_at"), "data.answered_at")
    ended = fields.integer(call.get("ended_at"), "data.ended_at")
    number = call.get("number")
    # e164_digits is only in webhook events; digits (international format) in both.
    line = fields.first(number, "e164_digits", "digits") if isinstance(number, dict) else None
    outbound = fields.text(call.get("direction"), "data.direction") == "outbound"
    status = _status(answered, call)
    talk_s = ended - answered if answered and ended and ended >= answered else None
    return {
        "source": NAME,
        # One id for the whole call: ringing several users, transfers and every event of it.
        "call_id": fields.text(call.get("id"), "data.id"),
        "status": status,
        "direction": "outbound" if outbound else "inbound",
        "started_at": fields.instant(started, "data.started_at", UTC),
        "duration_s": fields.integer(call.get("duration"), "data.duration"),
        "talk_s": talk_s if status is CallStatus.ANSWERED else None,
        # raw_digits is the external party in both directions, in display format.
        "caller": fields.caller_phone(call.get("raw_digits"), "data.raw_digits"),
        "tracking_number": fields.line_phone(line, settings.default_phone_region),
        "recording_available": _recording_available(call),
    }


def _status(answered_at: int | None, call: dict[str, Any]) -> CallStatus:
    # `voicemail` is only present when the caller left one; a missed_call_reason (IVR or queue
    # abandon, closed, no agent) means nobody talked, whatever else the call went through.
    if fields.text(call.get("voicemail"), "data.voicemail"):
        return CallStatus.VOICEMAIL
    if fields.text(call.get("missed_call_reason"), "data.missed_call_reason"):
        return CallStatus.MISSED
    return CallStatus.ANSWERED if answered_at else CallStatus.MISSED


def _recording_available(call: dict[str, Any]) -> bool | None:
    # Only the presence of the live-recording URL travels. Without one the call may still get a
    # recording later (call.comm_assets_generated), so absence means "not known", not False.
    return True if fields.text(call.get("recording"), "data.recording") else None
