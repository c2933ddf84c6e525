"""Source `ringostat`: Ringostat "Webhooks 2.0" with user-chosen parameters, token in the URL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.errors import BadPayload
from shared.events import CallStatus, parse_event
from shared.settings import Settings
from shared.sources import decode, fields, tokens
from shared.sources.base import Parsed, WebhookRequest

NAME = "ringostat"
METHODS = frozenset({"POST", "GET"})
CONTENT_TYPES = frozenset({"application/json", "application/x-www-form-urlencoded"})
AUTH_HEADERS: tuple[str, ...] = ()
AUTH_QUERY = (tokens.QUERY_TOKEN,)
# The call log's statuses (help.ringostat.com, "Call log. Description of call statuses").
# PROPER is a target call and REPEATED a repeat of one: both are computed on calls that were
# talked through, so whether a person talked is read from the talk time (`billsec`).
_DISPOSITIONS = {
    "ANSWERED": CallStatus.ANSWERED,
    "NO ANSWER": CallStatus.MISSED,
    "NOANSWER": CallStatus.MISSED,
    "NO_ANSWER": CallStatus.MISSED,
    "BUSY": CallStatus.BUSY,
    "FAILED": CallStatus.FAILED,
    "VOICEMAIL": CallStatus.VOICEMAIL,
}
_TARGET = "PROPER"
_REPEAT = frozenset({"REPEATED", "REPEAT CALL", "REPEAT"})
# Ringostat counts a callback (the visitor asked the site to call them) as an incoming call
# (help.ringostat.com, "Webhooks. Incoming call event"): only agent-dialled calls are outbound.
_OUTBOUND = frozenset({"out", "outgoing", "outbound"})
_CUSTOM = {"call_type": "call_type", "utm_term": "utm_term", "proper": "proper"}


def verify(request: WebhookRequest, secrets: Sequence[str]) -> None:
    """Check the `token` query parameter (Ringostat signs nothing); raises BadSignature."""
    tokens.verify_query_token(request, secrets)


def parse(request: WebhookRequest, settings: Settings) -> Parsed:
    """An after-call webhook (it has `disposition`) is one call event; earlier ones are noted.

    Ringostat sends one after-call webhook per call (keyed by `uniqueid`), however many
    employees the call rang; before-call, pick-up and forwarding-step webhooks carry no
    outcome. Ringostat counts only 200 OK as delivered, so both answers use 200.
    """
    call = decode.request_fields(request, exclude=frozenset({tokens.QUERY_TOKEN}))
    disposition = fields.text(call.get("disposition"), "disposition")
    if disposition is None:
        return Parsed([], note="no disposition: not an after-call webhook", status=200)
    event = _event_fields(call, disposition.upper(), settings)
    return Parsed([parse_event(event, settings.default_phone_region)], status=200)


def _event_fields(call: dict[str, Any], disposition: str, settings: Settings) -> dict[str, Any]:
    talk_s = fields.integer(call.get("billsec"), "billsec")
    outbound = _is_outbound(call)
    customer, line = ("dst", "caller") if outbound else ("caller", "dst")
    return {
        "source": NAME,
        "call_id": fields.text(call.get("uniqueid"), "uniqueid"),
        "status": _status(disposition, talk_s),
        "direction": "outbound" if outbound else "inbound",
        "started_at": fields.instant(call.get("calldate"), "calldate", settings.timezone_for(NAME)),
        "duration_s": fields.integer(call.get("duration"), "duration"),
        "talk_s": talk_s,
        "caller": fields.caller_phone(call.get(customer), customer),
        "tracking_number": fields.line_phone(call.get(line), settings.default_phone_region),
        "client_id": fields.client_id(fields.first(call, "ga_client_id", "client_id", "cid")),
        # A tracking entity the user names (Ringostat publishes no session parameter): the GA4
        # session id or the raw `_ga_<container>` value, as Calltouch's `ga_session_id`.
        "session_id": fields.text(call.get("ga_session_id"), "ga_session_id"),
        **fields.attribution(call),
        "landing_page": fields.text(call.get("landing_page"), "landing_page"),
        "first_call": False if disposition in _REPEAT else None,
        "lead_status": "proper" if disposition == _TARGET else None,
        "recording_available": _recording_available(call),
        "custom": fields.custom(call, _CUSTOM),
    }


def _status(disposition: str, talk_s: int | None) -> CallStatus:
    if disposition == _TARGET or disposition in _REPEAT:
        return CallStatus.ANSWERED if talk_s is None or talk_s > 0 else CallStatus.MISSED
    status = _DISPOSITIONS.get(disposition)
    if status is None:
        raise BadPayload("disposition: not a Ringostat call outcome", field="disposition")
    return status


def _is_outbound(call: dict[str, Any]) -> bool:
    call_type = fields.text(call.get("call_type"), "call_type") or ""
    return call_type.lower() in _OUTBOUND


def _recording_available(call: dict[str, Any]) -> bool | None:
    """Whether the after-call webhook's `recording` (the record's link) names a recording.

    A configured but empty `recording` means the call was not recorded; no parameter at all
    means the user did not ask, so nothing is said.
    """
    if "recording" not in call:
        return None
    return fields.text(call.get("recording"), "recording") is not None
