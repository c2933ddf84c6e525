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
_DISPOSITIONS = {
    "ANSWERED": CallStatus.ANSWERED,
    "NO ANSWER": CallStatus.MISSED,
    "NOANSWER": CallStatus.MISSED,
    "NO_ANSWER": CallStatus.MISSED,
    "BUSY": CallStatus.BUSY,
    "FAILED": CallStatus.FAILED,
    "VOICEMAIL": CallStatus.VOICEMAIL,
}
_OUTBOUND = frozenset({"out", "outgoing", "outbound", "callback"})
_CUSTOM = {"call_type": "call_type", "utm_term": "utm_term", "proper": "proper"}


def verify(request: WebhookRequest, secrets: Sequence[str]) -> None:
    """Check the `token` query parameter (Ringostat signs nothing); raises BadSignature."""
    tokens.verify_query_token(request, secrets)


def parse(request: WebhookRequest, settings: Settings) -> Parsed:
    """An after-call webhook (it has `disposition`) is one call event; earlier ones are noted.

    Ringostat counts only 200 OK as delivered, so both answers use 200.
    """
    call = decode.request_fields(request, exclude=frozenset({tokens.QUERY_TOKEN}))
    disposition = fields.text(call.get("disposition"), "disposition")
    if disposition is None:
        return Parsed([], note="no disposition: not an after-call webhook", status=200)
    status = _DISPOSITIONS.get(disposition.upper())
    if status is None:
        raise BadPayload("disposition: not a Ringostat call outcome", field="disposition")
    event = _event_fields(call, status, settings)
    return Parsed([parse_event(event, settings.default_phone_region)], status=200)


def _event_fields(call: dict[str, Any], status: CallStatus, settings: Settings) -> dict[str, Any]:
    call_type = (fields.text(call.get("call_type"), "call_type") or "").lower()
    outbound = call_type in _OUTBOUND
    customer, line = ("dst", "caller") if outbound else ("caller", "dst")
    return {
        "source": NAME,
        "call_id": fields.text(call.get("uniqueid"), "uniqueid"),
        "status": status,
        "direction": "outbound" if outbound else "inbound",
        "started_at": fields.instant(call.get("calldate"), "calldate", settings.timezone_for(NAME)),
        "duration_s": fields.integer(call.get("duration"), "duration"),
        "talk_s": fields.integer(call.get("billsec"), "billsec"),
        "caller": fields.caller_phone(call.get(customer), customer),
        "tracking_number": fields.line_phone(call.get(line), settings.default_phone_region),
        "client_id": fields.client_id(fields.first(call, "ga_client_id", "client_id", "cid")),
        **fields.attribution(call),
        "landing_page": fields.text(call.get("landing_page"), "landing_page"),
        "custom": fields.custom(call, _CUSTOM),
    }
