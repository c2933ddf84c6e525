"""Source `callrail`: CallRail's JSON call webhooks, signed with Base64 HMAC-SHA1 of the body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
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
SIGNATURE_HEADER = "Signature"
AUTH_HEADERS = (SIGNATURE_HEADER,)
AUTH_QUERY: tuple[str, ...] = ()

# CallRail sends each trigger to its own URL list and its body does not name the trigger, so a
# path after /callrail says which one it is. A bare /callrail is told apart by content.
OUTCOME_EVENTS = frozenset({"", "post_call", "outbound_post_call"})
IN_PROGRESS_EVENTS = frozenset({"pre_call", "call_routing_complete"})
LATER_CHANGE_EVENTS = frozenset({"call_modified", "outbound_call_modified"})
ACKNOWLEDGED_EVENTS = IN_PROGRESS_EVENTS | LATER_CHANGE_EVENTS
_CUSTOM = {
    "source": "source",
    "source_name": "source_name",
    "medium": "medium",
    "campaign": "campaign",
    "keywords": "keywords",
    "fbclid": "fbclid",
    "msclkid": "msclkid",
    # Also first-class fields now; kept so CUSTOM_PARAMETERS set up before them keep working.
    "lead_status": "lead_status",
    "value": "value",
}
# The placeholder CallRail documents for a call still in progress (pre-call, routing complete).
_IN_PROGRESS_CALL_TYPES = frozenset({"missed"})
_CHANGE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_MAX_CHANGES_NOTED = 10
# The `changes` member that marks a new lead status. CallRail documents `changes` as the list
# of changed fields, named as in the call object, but its published member list (tags, note,
# value, transcription_text, call_summary, recording_duration, auto_score, manual_score) does
# not show this one: the call object's own field name is assumed (docs/platforms/callrail.md).
LEAD_STATUS_CHANGE = "lead_status"
_DECIMAL = re.compile(r"^\d{1,12}(?:\.\d{1,6})?$")


def sign(key: str, body: bytes) -> str:
    """The `Signature` header CallRail sends: Base64 HMAC-SHA1 of the body, key as text."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha1).digest()).decode()


def verify(request: WebhookRequest, secrets: Sequence[str]) -> None:
    """Check the `Signature` header against every company signing key; raises BadSignature."""
    offered = request.auth_header(SIGNATURE_HEADER).strip().encode()
    if not offered:
        raise BadSignature("missing Signature header")
    if not any(hmac.compare_digest(sign(key, request.body).encode(), offered) for key in secrets):
        raise BadSignature("signature does not match")


def parse(request: WebhookRequest, settings: Settings) -> Parsed:
    """A post-call webhook is one call event; pre-call, routing and later changes are noted.

    Raises BadPayload for a body that is not a readable call.
    """
    event = request.subpath.strip("/").lower()
    if event in IN_PROGRESS_EVENTS:
        return Parsed([], note=f"{event} is not a call outcome; waiting for post_call")
    if event not in OUTCOME_EVENTS and event not in LATER_CHANGE_EVENTS:
        return Parsed([], note="unknown CallRail event path; nothing published")
    call = decode.json_object(request.body)
    stage = event or _stage_by_content(call)
    if stage in LATER_CHANGE_EVENTS:
        return _later_change(stage, call, request, settings)
    if stage in IN_PROGRESS_EVENTS:
        return Parsed([], note=f"{stage} (told by its content) is not a call outcome; waiting")
    return Parsed([parse_event(_event_fields(call, settings), settings.default_phone_region)])


def _stage_by_content(call: dict[str, Any]) -> str:
    """Which trigger sent a body that came to the bare /callrail URL.

    CallRail's "Webhooks" support article: call modified adds a `changes` list; pre-call and
    call routing complete carry the in-progress placeholders answered=false, voicemail=false,
    duration=0, call_type=missed (routing complete adds business_phone_number). A finished
    inbound call that nobody answered lasts at least until the caller hangs up, and one shorter
    than 15 s is `abandoned`, so a post-call never carries all of those placeholders at once.
    """
    if "changes" in call:
        return "call_modified"
    if _is_in_progress(call):
        business = fields.text(call.get("business_phone_number"), "business_phone_number")
        return "call_routing_complete" if business else "pre_call"
    return "post_call"


def _is_in_progress(call: dict[str, Any]) -> bool:
    call_type = fields.text(call.get("call_type"), "call_type")
    return (
        fields.text(call.get("direction"), "direction") != "outbound"
        and not fields.boolean(call.get("answered"), "answered")
        and not fields.boolean(call.get("voicemail"), "voicemail")
        and not fields.integer(call.get("duration"), "duration")
        and (call_type is None or call_type in _IN_PROGRESS_CALL_TYPES)
    )


def _later_change(
    stage: str, call: dict[str, Any], request: WebhookRequest, settings: Settings
) -> Parsed:
    """A new lead status is one qualification event; any other later change is acknowledged:
    the call was reported at post-call, and sending it again would count it twice.
    """
    names = _change_names(call)
    changed = f" ({', '.join(names[:_MAX_CHANGES_NOTED])})" if names else ""
    note = f"{stage}{changed} changes a call already reported; acknowledged, not sent again"
    # The lead status is read only when it is among the changes: a change of anything else is
    # acknowledged whatever the rest of the call carries, as it was before qualifications.
    if LEAD_STATUS_CHANGE not in names:
        return Parsed([], note=note)
    if not fields.text(call.get("lead_status"), "lead_status"):
        return Parsed([], note=note)
    qualification = {
        **_event_fields(call, settings),
        "kind": "qualification",
        # CallRail's body has no time of the change (`timestamp` is the call's): the request's
        # arrival is the closest known time, and GA4 dates the qualification by it.
        "qualified_at": request.received_at,
    }
    return Parsed([parse_event(qualification, settings.default_phone_region)])


def _change_names(call: dict[str, Any]) -> list[str]:
    changes = call.get("changes")
    return [
        change
        for change in (changes if isinstance(changes, list) else [])
        if isinstance(change, str) and _CHANGE_NAME.fullmatch(change)
    ]


def _event_fields(call: dict[str, Any], settings: Settings) -> dict[str, Any]:
    outbound = fields.text(call.get("direction"), "direction") == "outbound"
    return {
        "source": NAME,
        "call_id": fields.text(fields.first(call, "resource_id", "id"), "resource_id"),
        "status": _status(call),
        "direction": "outbound" if outbound else "inbound",
        "started_at": fields.instant(
            fields.first(call, "start_time", "created_at"), "start_time", UTC
        ),
        "duration_s": fields.integer(call.get("duration"), "duration"),
        # The customer in both directions; business_phone_number is where the call rang (an
        # agent or office line), never the caller.
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
        **_lead_signals(call),
        "custom": fields.custom(call, _CUSTOM),
    }


def _lead_signals(call: dict[str, Any]) -> dict[str, Any]:
    """first_call, spam, lead_status, value and recording presence; CallRail sends no currency."""
    return {
        "first_call": fields.boolean(call.get("first_call"), "first_call"),
        "spam": fields.boolean(call.get("spam"), "spam"),
        "lead_status": fields.text(call.get("lead_status"), "lead_status"),
        "value": _value(call.get("value")),
        "recording_available": _recording_available(call),
    }


def _value(raw: Any) -> float | None:
    # CallRail documents no format for `value`; only a plain non-negative amount is taken, and
    # anything else is left out rather than failing a call CallRail will never resend.
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int | float):
        return float(raw) if raw >= 0 else None
    text = str(raw).strip()
    return float(text) if _DECIMAL.fullmatch(text) else None


def _recording_available(call: dict[str, Any]) -> bool | None:
    # `recording` is a URL: only whether it is there travels, never the URL itself.
    if "recording" not in call:
        return None
    return bool(fields.text(call.get("recording"), "recording"))


def _status(call: dict[str, Any]) -> CallStatus:
    # Voicemail first: CallRail's voicemail step answers the call, but no person talked.
    if fields.boolean(call.get("voicemail"), "voicemail"):
        return CallStatus.VOICEMAIL
    if fields.boolean(call.get("answered"), "answered"):
        return CallStatus.ANSWERED
    return CallStatus.MISSED
