"""Source `callrail`: CallRail's JSON call webhooks, signed with Base64 HMAC-SHA1 of the body."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from shared.errors import BadSignature
from shared.events import CallStatus, parse_event
from shared.settings import Settings
from shared.sources import decode, fields
from shared.sources.base import POST_ONLY, Parsed, WebhookRequest

NAME = "callrail"
METHODS = POST_ONLY
CONTENT_TYPES = frozenset({"application/json"})

# CallRail sends each event type to its own URL list, and its body does not name the event:
# the path after /callrail says which one it is. Only post_call (or no path) is an outcome.
OUTCOME_EVENTS = frozenset({"", "post_call"})
ACKNOWLEDGED_EVENTS = frozenset({"pre_call", "call_routing_complete", "call_modified"})
_CUSTOM = {
    "source": "source",
    "source_name": "source_name",
    "medium": "medium",
    "campaign": "campaign",
    "keywords": "keywords",
    "fbclid": "fbclid",
    "msclkid": "msclkid",
    "lead_status": "lead_status",
    "value": "value",
}


def sign(key: str, body: bytes) -> str:
    """The `Signature` header CallRail sends: Base64 HMAC-SHA1 of the body, key as text."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha1).digest()).decode()


def verify(request: WebhookRequest, secrets: Sequence[str]) -> None:
    """Check the `Signature` header against every company signing key; raises BadSignature."""
    offered = request.auth_header("signature").strip().encode()
    if not offered:
        raise BadSignature("missing Signature header")
    if not any(hmac.compare_digest(sign(key, request.body).encode(), offered) for key in secrets):
        raise BadSignature("signature does not match")


def parse(request: WebhookRequest, settings: Settings) -> Parsed:
    """A post_call webhook is one call event; pre-call, routing and modification are noted."""
    event = request.subpath.strip("/").lower()
    if event in ACKNOWLEDGED_EVENTS:
        return Parsed([], note=f"{event} is not a call outcome; waiting for post_call")
    if event not in OUTCOME_EVENTS:
        return Parsed([], note="unknown CallRail event path; nothing published")
    call = decode.json_object(request.body)
    event_data = _event_fields(call, settings)
    return Parsed([parse_event(event_data, settings.default_phone_region)])


def _event_fields(call: dict[str, Any], settings: Settings) -> dict[str, Any]:
    outbound = fields.text(call.get("direction"), "direction") == "outbound"
    answered = fields.boolean(call.get("answered"), "answered")
    voicemail = fields.boolean(call.get("voicemail"), "voicemail")
    return {
        "source": NAME,
        "call_id": fields.text(fields.first(call, "resource_id", "id"), "resource_id"),
        "status": _status(answered, voicemail),
        "direction": "outbound" if outbound else "inbound",
        "started_at": fields.instant(
            fields.first(call, "start_time", "created_at"), "start_time", UTC
        ),
        "duration_s": fields.integer(call.get("duration"), "duration"),
        "caller": fields.caller_phone(
            fields.first(call, "customer_phone_number", "callernum"), "customer_phone_number"
        ),
        "tracking_number": fields.line_phone(
            fields.first(call, "tracking_phone_number", "trackingnum"),
            settings.default_phone_region,
        ),
        "client_id": fields.client_id(call.get("ga")),
        **fields.attribution(call),
        "landing_page": fields.text(call.get("landing_page_url"), "landing_page_url"),
        "referrer": fields.text(call.get("referring_url"), "referring_url"),
        "custom": fields.custom(call, _CUSTOM),
    }


def _status(answered: bool | None, voicemail: bool | None) -> CallStatus:
    if answered:
        return CallStatus.ANSWERED
    return CallStatus.VOICEMAIL if voicemail else CallStatus.MISSED
