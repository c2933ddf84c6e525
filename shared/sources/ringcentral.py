"""Source `ringcentral`: telephony-session webhooks with the `Verification-Token` header."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from shared.errors import BadPayload, BadSignature
from shared.events import CallStatus, parse_event
from shared.settings import Settings
from shared.sources import decode, fields
from shared.sources.base import POST_ONLY, Parsed, WebhookRequest, constant_time_in

NAME = "ringcentral"
METHODS = POST_ONLY
CONTENT_TYPES = frozenset({"application/json"})
VALIDATION_HEADER = "validation-token"
VERIFICATION_HEADER = "verification-token"
# RingCentral's validation tokens are UUID-like; anything else is not echoed into a header.
_ECHOABLE = re.compile(r"^[A-Za-z0-9._~+/=-]{1,200}$")
_ENDED = frozenset({"Disconnected", "Gone"})


def verify(request: WebhookRequest, secrets: Sequence[str]) -> None:
    """Check `Verification-Token` on events; the subscription handshake carries none.

    Raises BadSignature. A handshake passes, but `parse` then never yields events for it.
    """
    if _is_handshake(request):
        return
    token = request.auth_header(VERIFICATION_HEADER)
    if not token:
        raise BadSignature("missing Verification-Token header")
    if not constant_time_in(token, secrets):
        raise BadSignature("verification token does not match")


def parse(request: WebhookRequest, settings: Settings) -> Parsed:
    """Echo the handshake with 200; a Disconnected telephony session is one call event."""
    if _is_handshake(request):
        token = request.auth_header(VALIDATION_HEADER).strip()
        if not _ECHOABLE.fullmatch(token):
            raise BadPayload("Validation-Token: not a token RingCentral issues")
        return Parsed(
            [], note="subscription validated", headers={"Validation-Token": token}, status=200
        )
    envelope = decode.json_object(request.body)
    body = envelope.get("body")
    if "/telephony/sessions" not in str(envelope.get("event", "")) or not isinstance(body, dict):
        return Parsed([], note="not a telephony session event")
    parties = body.get("parties")
    party = parties[0] if isinstance(parties, list) and parties else None
    if not isinstance(party, dict):
        raise BadPayload("body.parties: expected at least one party", field="body.parties")
    status = party.get("status")
    code = status.get("code") if isinstance(status, dict) else None
    if code not in _ENDED:
        return Parsed([], note=f"status {str(code)[:32]} is not a call outcome yet")
    event = _event_fields(envelope, body, party, settings)
    return Parsed([parse_event(event, settings.default_phone_region)])


def _is_handshake(request: WebhookRequest) -> bool:
    # The handshake has the Validation-Token and no event; with both headers it is an event.
    return bool(request.headers.get(VALIDATION_HEADER)) and not request.headers.get(
        VERIFICATION_HEADER
    )


def _event_fields(
    envelope: dict[str, Any], body: dict[str, Any], party: dict[str, Any], settings: Settings
) -> dict[str, Any]:
    outbound = party.get("direction") == "Outbound"
    customer, line = (party.get("to"), party.get("from"))
    if not outbound:
        customer, line = line, customer
    missed = fields.boolean(party.get("missedCall"), "body.parties.missedCall")
    status = party.get("status")
    voicemail = isinstance(status, dict) and status.get("reason") == "Voicemail"
    return {
        "source": NAME,
        "call_id": fields.text(
            fields.first(body, "telephonySessionId", "sessionId"), "body.telephonySessionId"
        ),
        "status": _status(missed, voicemail),
        "direction": "outbound" if outbound else "inbound",
        # Session events carry no start time: the reference takes the event time.
        "started_at": fields.instant(
            fields.first(body, "eventTime") or envelope.get("timestamp"), "body.eventTime", UTC
        ),
        "caller": fields.caller_phone(_number(customer), "body.parties.from.phoneNumber"),
        "tracking_number": fields.line_phone(_number(line), settings.default_phone_region),
    }


def _number(party_end: Any) -> Any:
    return party_end.get("phoneNumber") if isinstance(party_end, dict) else None


def _status(missed: bool | None, voicemail: bool) -> CallStatus:
    if voicemail:
        return CallStatus.VOICEMAIL
    return CallStatus.MISSED if missed else CallStatus.ANSWERED
