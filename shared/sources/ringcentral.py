"""Source `ringcentral`: telephony-session webhooks with the `Verification-Token` header.

One telephony session (`telephonySessionId`) is one customer call, reported in many
notifications, each carrying the parties whose state changed (often just one). No single
notification says how the whole call ended, and ingest keeps no state, so only these publish:

- a person picking up: an `Inbound` business party (it has an `extensionId`) or the customer's
  party of an outbound call reaching `Answered` → answered;
- the subscription owner's own party leaving without having missed the call → answered (the
  owner is a user, never an IVR menu or a queue); any non-queue business party that RingCentral
  marks `missedCall` → missed (a call that went to voicemail included: its party's `VoiceMail`
  state comes before that party's `missedCall` disconnect, and Pub/Sub keeps no order between
  the two, so reporting both would make the outcome a race).

The customer's party leaving publishes nothing: it does not say whether anyone talked, and an
"answered" published earlier may still be in delivery. So a call that only reached an IVR or a
queue and was abandoned there is not reported, and a missed call is never reported as answered
nor an answered one as missed. `Gone` (the party moved: transfer, park, pickup),
IVR and queue parties leaving, ringing, hold and park states publish nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
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
VALIDATION_HEADER = "Validation-Token"
VERIFICATION_HEADER = "Verification-Token"
AUTH_HEADERS = (VERIFICATION_HEADER, VALIDATION_HEADER)
AUTH_QUERY: tuple[str, ...] = ()
# RingCentral's validation tokens are UUID-like; anything else is not echoed into a header.
_ECHOABLE = re.compile(r"^[A-Za-z0-9._~+/=-]{1,200}$")
# Session origins that are not a customer's call (greeting recordings, test calls, bridges).
_NOT_CALLS = frozenset({"conference", "greetingsrecording", "verificationcall", "testcall"})
# Disconnect reasons (CallStatusInfo.reason) saying this party never talked, whatever missedCall.
_UNANSWERED = frozenset(
    {
        "NoAnswer",
        "Cancelled",
        "Rejected",
        "Timeout",
        "TargetBusy",
        "Voicemail",
        "InvalidNumber",
        "InternationalDisabled",
        "DestinationBlocked",
        "NotEnoughFunds",
        "NoSuchUser",
        "InternalError",
    }
)
# When one notification carries several parties, the strongest evidence wins.
_PRIORITY = (CallStatus.ANSWERED, CallStatus.MISSED)


@dataclass(frozen=True)
class _Verdict:
    """What one party's state says about the call, and the party to read the numbers from."""

    status: CallStatus
    party: Mapping[str, Any]


def verify(request: WebhookRequest, secrets: Sequence[str]) -> None:
    """Check `Verification-Token` on events; the subscription handshake carries none.

    Raises BadSignature. A handshake passes, but `parse` then never yields events for it.
    """
    if _is_handshake(request):
        return
    token = request.auth_header(VERIFICATION_HEADER)
    if not token:
        raise BadSignature(f"missing {VERIFICATION_HEADER} header")
    if not constant_time_in(token, secrets):
        raise BadSignature("verification token does not match")


def parse(request: WebhookRequest, settings: Settings) -> Parsed:
    """Echo the handshake with 200; a notification that settles the call is one call event.

    Raises BadPayload for a body that is not a telephony-session notification RingCentral sends.
    """
    if _is_handshake(request):
        token = request.auth_header(VALIDATION_HEADER).strip()
        if not _ECHOABLE.fullmatch(token):
            raise BadPayload("Validation-Token: not a token RingCentral issues")
        return Parsed(
            [], note="subscription validated", headers={VALIDATION_HEADER: token}, status=200
        )
    envelope = decode.json_object(request.body)
    body = envelope.get("body")
    if "/telephony/sessions" not in str(envelope.get("event", "")) or not isinstance(body, dict):
        return Parsed([], note="not a telephony session event")
    origin = body.get("origin")
    origin_type = str(origin.get("type", "")) if isinstance(origin, dict) else ""
    if origin_type.lower() in _NOT_CALLS:
        return Parsed([], note=f"origin {origin_type[:32]} is not a customer call")
    parties = _parties(body)
    verdict = _strongest(_verdict(party, str(envelope.get("ownerId", ""))) for party in parties)
    if verdict is None:
        return Parsed([], note=_waiting_note(parties))
    event = _event_fields(envelope, body, verdict, settings)
    return Parsed([parse_event(event, settings.default_phone_region)])


def _is_handshake(request: WebhookRequest) -> bool:
    # The handshake has the Validation-Token and no event; with both headers it is an event.
    headers = request.headers
    return bool(headers.get(VALIDATION_HEADER.lower())) and not headers.get(
        VERIFICATION_HEADER.lower()
    )


def _parties(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    parties = body.get("parties")
    if not isinstance(parties, list) or not parties:
        raise BadPayload("body.parties: expected at least one party", field="body.parties")
    if not all(isinstance(party, dict) for party in parties):
        raise BadPayload("body.parties: expected objects", field="body.parties")
    return parties


def _verdict(party: Mapping[str, Any], owner_id: str) -> _Verdict | None:
    if _is_internal(party):
        return None
    code = _code(party).lower()
    status: CallStatus | None = None
    if code == "answered":
        status = CallStatus.ANSWERED if _person_picked_up(party) else None
    elif code == "disconnected":
        status = _left(party, owner_id)
    return _Verdict(status, party) if status else None


def _person_picked_up(party: Mapping[str, Any]) -> bool:
    # `Answered` on an Inbound party: "answered on a target endpoint and media is established".
    # On the caller's Outbound party it only means a destination (IVR, queue, user) was reached.
    # Internal calls are set aside before, so a business party here talks to the customer.
    return _is_business(party) or party.get("direction") == "Inbound"


def _left(party: Mapping[str, Any], owner_id: str) -> CallStatus | None:
    if not _is_business(party):
        # The customer hung up: the call is over, but this party does not say whether anyone
        # talked, and an earlier "answered" may still be on its way (Pub/Sub keeps no order).
        return None
    if party.get("queueCall") is True:
        return None  # one queue member not taking the call says nothing of the call
    missed = fields.boolean(party.get("missedCall"), "body.parties.missedCall")
    if missed:
        return CallStatus.MISSED
    if missed is False and _is_owner(party, owner_id) and _reason(party) not in _UNANSWERED:
        return CallStatus.ANSWERED
    return None


def _is_owner(party: Mapping[str, Any], owner_id: str) -> bool:
    # Subscriptions are made with a user's login, so the owner is a person: never an IVR menu
    # or a call queue, whose parties also leave unmissed once they route the call on.
    return bool(owner_id) and str(party.get("extensionId")) == owner_id


def _reason(party: Mapping[str, Any]) -> str:
    status = party.get("status")
    reason = status.get("reason") if isinstance(status, dict) else None
    return reason if isinstance(reason, str) else ""


def _strongest(verdicts: Iterable[_Verdict | None]) -> _Verdict | None:
    found = [verdict for verdict in verdicts if verdict is not None]
    for status in _PRIORITY:
        for verdict in found:
            if verdict.status is status:
                return verdict
    return None


def _waiting_note(parties: list[Mapping[str, Any]]) -> str:
    if all(_is_internal(party) for party in parties):
        return "internal call between extensions"
    code = _code(parties[0])
    return f"party status {code[:32] or None} does not settle the call"


def _code(party: Mapping[str, Any]) -> str:
    status = party.get("status")
    code = status.get("code") if isinstance(status, dict) else None
    return code if isinstance(code, str) else ""


def _is_business(party: Mapping[str, Any]) -> bool:
    # The customer's (PSTN) party has no extensionId; every party of ours has one.
    return bool(party.get("extensionId"))


def _has_extension(end: Any) -> bool:
    return isinstance(end, dict) and bool(end.get("extensionId"))


def _customer_end(party: Mapping[str, Any]) -> tuple[Any, Any]:
    """(the customer's end, the business line's end) among a party's `from` and `to`."""
    business = _is_business(party)
    inbound_to_us = (party.get("direction") == "Inbound") == business
    if inbound_to_us:
        return party.get("from"), party.get("to")
    return party.get("to"), party.get("from")


def _is_internal(party: Mapping[str, Any]) -> bool:
    # An extension calling an extension: the "customer" end is one of our extensions.
    customer, _ = _customer_end(party)
    return _has_extension(customer)


def _event_fields(
    envelope: Mapping[str, Any], body: Mapping[str, Any], verdict: _Verdict, settings: Settings
) -> dict[str, Any]:
    party = verdict.party
    customer, line = _customer_end(party)
    inbound = (party.get("direction") == "Inbound") == _is_business(party)
    return {
        "source": NAME,
        "call_id": fields.text(
            fields.first(body, "telephonySessionId", "sessionId"), "body.telephonySessionId"
        ),
        "status": verdict.status,
        "direction": "inbound" if inbound else "outbound",
        # Session events carry no start time: the notification's time stands in for it.
        "started_at": fields.instant(
            fields.first(body, "eventTime") or envelope.get("timestamp"), "body.eventTime", UTC
        ),
        "caller": fields.caller_phone(_number(customer), "body.parties.from.phoneNumber"),
        "tracking_number": fields.line_phone(_number(line), settings.default_phone_region),
        "recording_available": _recording_available(party),
    }


def _number(end: Any) -> Any:
    return end.get("phoneNumber") if isinstance(end, dict) else None


def _recording_available(party: Mapping[str, Any]) -> bool | None:
    # `recordings` lists the party's recordings (ids only); absent means RingCentral did not say.
    recordings = party.get("recordings")
    if recordings is None:
        return None
    if not isinstance(recordings, list):
        name = "body.parties.recordings"
        raise BadPayload(f"{name}: expected a list", field=name)
    return bool(recordings)
