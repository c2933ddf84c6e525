"""Source `uis`: CallGear / UIS (CoMagic) notifications with our body template, token in URL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.events import CallStatus, parse_event
from shared.settings import Settings
from shared.sources import decode, fields, tokens
from shared.sources.base import Parsed, WebhookRequest

NAME = "uis"
METHODS = frozenset({"POST", "GET"})
CONTENT_TYPES = frozenset({"application/json", "application/x-www-form-urlencoded"})
# The notification type is chosen per notification in the cabinet and is not reliably named
# in the body, so each outcome notification gets its own path: /uis/ended, /uis/lost.
ENDED = "ended"
LOST = "lost"
_OUTBOUND = frozenset({"out", "outgoing", "outbound"})
_CUSTOM = {
    "scenario_name": "scenario_name",
    "call_source": "call_source",
    "campaign_name": "campaign_name",
    "site_domain_name": "site_domain_name",
}


def verify(request: WebhookRequest, secrets: Sequence[str]) -> None:
    """Check the `token` query parameter (UIS signs nothing); raises BadSignature."""
    tokens.verify_query_token(request, secrets)


def parse(request: WebhookRequest, settings: Settings) -> Parsed:
    """`/uis/ended` and `/uis/lost` are call outcomes; any other notification path is noted."""
    kind = request.subpath.strip("/").lower()
    if kind not in (ENDED, LOST):
        return Parsed([], note="not a call-ended or lost-call notification; nothing published")
    call = decode.request_fields(request, exclude=frozenset({tokens.QUERY_TOKEN}))
    event = _event_fields(call, _status(kind, call), settings)
    return Parsed([parse_event(event, settings.default_phone_region)])


def _status(kind: str, call: dict[str, Any]) -> CallStatus:
    lost = fields.boolean(call.get("is_lost"), "is_lost")
    talk = fields.integer(call.get("talk_duration"), "talk_duration")
    if kind == LOST or lost or talk == 0:
        return CallStatus.MISSED
    return CallStatus.ANSWERED


def _event_fields(call: dict[str, Any], status: CallStatus, settings: Settings) -> dict[str, Any]:
    direction = (fields.text(call.get("direction"), "direction") or "").lower()
    outbound = direction in _OUTBOUND
    customer = "called_phone_number" if outbound else "calling_phone_number"
    line = fields.first(
        call, "virtual_phone_number", "calling_phone_number" if outbound else "called_phone_number"
    )
    return {
        "source": NAME,
        "call_id": fields.text(
            fields.first(call, "call_session_id", "communication_id"), "call_session_id"
        ),
        "status": status,
        "direction": "outbound" if outbound else "inbound",
        "started_at": fields.instant(
            fields.first(call, "start_time", "notification_time"),
            "start_time",
            settings.timezone_for(NAME),
        ),
        "duration_s": fields.integer(call.get("total_duration"), "total_duration"),
        "talk_s": fields.integer(call.get("talk_duration"), "talk_duration"),
        "caller": fields.caller_phone(
            fields.first(call, customer, "contact_phone_number"), customer
        ),
        "tracking_number": fields.line_phone(line, settings.default_phone_region),
        "client_id": fields.client_id(call.get("ga_client_id")),
        **fields.attribution(call),
        "custom": fields.custom(call, _CUSTOM),
    }
