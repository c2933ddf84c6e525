"""Source `twilio`: Voice callbacks, signed with `X-Twilio-Signature` over URL and fields.

One customer call is several requests: the customer's (parent) call's status callback, the
`<Dial>` `action` request, and status callbacks of each dialled leg (`<Number>`, `<Client>`,
`<Sip>`). Each is told apart by content, so any path after /twilio works, and every one is
keyed on the customer's call SID, so a second report of the call is a ledger duplicate.
docs/platforms/twilio.md says which request publishes what, and why.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import ParseResult, parse_qs, parse_qsl, urlparse

from shared.errors import BadPayload, BadSignature
from shared.events import CallStatus, parse_event
from shared.settings import Settings
from shared.sources import decode, fields
from shared.sources.base import Parsed, WebhookRequest

NAME = "twilio"
METHODS = frozenset({"POST", "GET"})  # statusCallbackMethod and <Dial method> may be GET
CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "application/json"})
BODY_HASH = "bodySHA256"
SIGNATURE_HEADER = "X-Twilio-Signature"
AUTH_HEADERS = (SIGNATURE_HEADER,)
# Twilio adds the body's hash to the URL of a JSON callback; the signature covers the URL.
AUTH_QUERY = (BODY_HASH,)
# Callbacks come within seconds; Twilio never redelivers late. A signed Timestamp older than
# this is a replay.
TOLERANCE = timedelta(hours=1)

# <Dial> action `DialCallStatus` (twilio.com/docs/voice/twiml/dial#dialcallstatus):
# `completed` "the called party answered the call and was connected to the caller";
# `answered` is the same for a <Conference>.
_DIAL_OUTCOMES = {
    "completed": CallStatus.ANSWERED,
    "answered": CallStatus.ANSWERED,
    "busy": CallStatus.BUSY,
    "no-answer": CallStatus.MISSED,
    "canceled": CallStatus.MISSED,
    "failed": CallStatus.FAILED,
}
# A call that ended unconnected (twilio.com/docs/voice/api/call-resource#call-status-values).
# `completed` is absent on purpose: it says the call ended, not that a person talked.
_UNCONNECTED = {
    "busy": CallStatus.BUSY,
    "no-answer": CallStatus.MISSED,
    "canceled": CallStatus.MISSED,
    "failed": CallStatus.FAILED,
}
_IN_PROGRESS = frozenset({"queued", "initiated", "ringing", "in-progress"})
_TERMINAL = frozenset({"completed", *_UNCONNECTED})
# Answering machine detection's `AnsweredBy` (twilio.com/docs/voice/answering-machine-detection).
_HUMAN = "human"
_MACHINE = frozenset(
    {"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other"}
)
# `Direction` (twilio.com/docs/voice/api/call-resource#statuscallback).
_API_CALL = "outbound-api"
_DIALLED_LEG = "outbound-dial"
# Our own query parameters on the callback URL (covered by the signature) carry attribution.
_ATTRIBUTION = ("client_id", "user_id", "session_id", *fields.ATTRIBUTION_FIELDS, "landing_page")


def sign(auth_token: str, url: str, params: Iterable[tuple[str, str]] = ()) -> str:
    """Base64 HMAC-SHA1 of the URL plus every field as name+value, sorted like Twilio's SDK."""
    grouped: dict[str, set[str]] = {}
    for name, value in params:
        grouped.setdefault(name, set()).add(value)
    payload = url + "".join(
        name + value for name in sorted(grouped) for value in sorted(grouped[name])
    )
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def body_hash(body: bytes) -> str:
    """The `bodySHA256` query value Twilio adds to the URL of a JSON callback."""
    return hashlib.sha256(body).hexdigest()


def verify(request: WebhookRequest, secrets: Sequence[str]) -> None:
    """Check `X-Twilio-Signature` (and `bodySHA256` for JSON) and the signed Timestamp's age.

    Accepts what the official SDK's RequestValidator accepts. Raises BadSignature.
    """
    offered = request.auth_header(SIGNATURE_HEADER).strip().encode()
    if not offered:
        raise BadSignature("missing X-Twilio-Signature header")
    params = _signed_params(request)
    urls = signed_url_variants(request.public_url)
    if not any(
        hmac.compare_digest(sign(token, url, params).encode(), offered)
        for token in secrets
        for url in urls
    ):
        raise BadSignature("signature does not match")
    _check_age(dict(params) if params else _query_fields(request), request)


def signed_url_variants(url: str) -> list[str]:
    """The URLs a signature may cover: the SDK's `remove_port` and `add_port` of the URL.

    Twilio's own validator (twilio-python `twilio/request_validator.py`, `validate`) tries
    exactly these two, "since sig generation on back end is inconsistent": a URL with any
    port is also tried without it; one without a port also with 443 (https) or 80.
    """
    parts = urlparse(url)
    try:
        port = parts.port
    except ValueError:  # the SDK raises here too: a malformed port verifies nothing
        return []
    if port:
        # The SDK cuts the netloc at its first colon (`uri.netloc.split(":")[0]`).
        without_port = _with_netloc(parts, parts.netloc.split(":")[0])
        return _unique([without_port, parts.geturl()])
    default_port = 443 if parts.scheme == "https" else 80
    return _unique([parts.geturl(), _with_netloc(parts, f"{parts.netloc}:{default_port}")])


def parse(request: WebhookRequest, settings: Settings) -> Parsed:
    """Publish the customer's call outcome from the request that knows it; note the rest.

    The <Dial> action (`DialCallStatus`) and a dialled leg that connected publish; a call
    that ended unconnected publishes; a `completed` customer call with no dial information
    (and no AMD verdict) is noted: it cannot tell whether a person talked.
    """
    call = _fields(request)
    if call.get("DialCallStatus") not in (None, ""):
        return _dial_action(call, request, settings)
    status = fields.text(call.get("CallStatus"), "CallStatus")
    if status is None:
        return _without_call_status(call)
    if status in _IN_PROGRESS:
        return Parsed([], note=f"CallStatus {status} is not a call outcome yet")
    if status not in _TERMINAL:
        raise BadPayload("CallStatus: not a Twilio call status", field="CallStatus")
    if _is_dialled_leg(call):
        return _dialled_leg(call, status, request, settings)
    return _customer_call(call, status, request, settings)


def _dial_action(call: dict[str, Any], request: WebhookRequest, settings: Settings) -> Parsed:
    # Sent on the customer's call (CallSid, From, To, Direction are the parent's) when the
    # dial ends (twilio.com/docs/voice/twiml/dial#action); it carries no Timestamp.
    dial_status = fields.text(call.get("DialCallStatus"), "DialCallStatus") or ""
    outcome = _DIAL_OUTCOMES.get(dial_status)
    if outcome is None:
        raise BadPayload("DialCallStatus: not a Twilio dial status", field="DialCallStatus")
    talk_s = fields.integer(call.get("DialCallDuration"), "DialCallDuration")
    answered = outcome is CallStatus.ANSWERED
    event = {
        **_parties(call, outbound=_direction(call) == _API_CALL, settings=settings),
        "call_id": _required(call, "CallSid"),
        "status": outcome,
        # The dialled party answered DialCallDuration seconds before the dial ended.
        "started_at": request.received_at - timedelta(seconds=talk_s or 0),
        "talk_s": talk_s if answered else None,
        "recording_available": True if call.get("RecordingUrl") else None,
    }
    return _published(event, request, settings)


def _dialled_leg(
    call: dict[str, Any], status: str, request: WebhookRequest, settings: Settings
) -> Parsed:
    # A <Number>/<Client>/<Sip> statusCallback. Several legs may ring at once and only one
    # connects; the others end no-answer or canceled, which is not the customer's outcome.
    if status != "completed":
        return Parsed([], note=f"a dialled leg ended {status}: not the call's outcome")
    talk_s = fields.integer(call.get("CallDuration"), "CallDuration")
    event = {
        # `From` on a dialled leg is the caller ID shown to the agent: the customer's number
        # unless <Dial callerId> replaced it; `To` is the agent, never the customer.
        "caller": _customer_number(call.get("From"), "From"),
        "direction": "inbound",
        "call_id": _required(call, "ParentCallSid"),
        "status": CallStatus.ANSWERED,
        "started_at": _ended_at(call, request) - timedelta(seconds=talk_s or 0),
        "talk_s": talk_s,
        "recording_available": True if call.get("RecordingUrl") else None,
    }
    return _published(event, request, settings)


def _customer_call(
    call: dict[str, Any], status: str, request: WebhookRequest, settings: Settings
) -> Parsed:
    outbound = _direction(call) == _API_CALL
    outcome = _UNCONNECTED.get(status) or _amd_outcome(call, outbound)
    if outcome is None:
        return Parsed(
            [],
            note=(
                "CallStatus completed says the call ended, not that a person talked: the "
                "outcome comes from the <Dial> action, a dialled leg or AnsweredBy"
            ),
        )
    duration_s = fields.integer(call.get("CallDuration"), "CallDuration")
    event = {
        **_parties(call, outbound=outbound, settings=settings),
        "call_id": _required(call, "CallSid"),
        "status": outcome,
        # Timestamp is when the completed event fired: the call began CallDuration earlier.
        "started_at": _ended_at(call, request) - timedelta(seconds=duration_s or 0),
        "duration_s": duration_s,
        "talk_s": duration_s if outcome is CallStatus.ANSWERED else None,
        "recording_available": True if call.get("RecordingUrl") else None,
    }
    return _published(event, request, settings)


def _published(event: dict[str, Any], request: WebhookRequest, settings: Settings) -> Parsed:
    query = decode.single_values(decode.form(request.query, "query string"), "query string")
    attribution = {name: query[name] for name in _ATTRIBUTION if query.get(name)}
    call_event = {"source": NAME, **event, **attribution}
    return Parsed([parse_event(call_event, settings.default_phone_region)])


def _amd_outcome(call: Mapping[str, Any], outbound: bool) -> CallStatus | None:
    # Answering machine detection runs on calls Twilio places, so only an API call's verdict
    # speaks for the customer; fax and unknown leave the question open.
    if not outbound:
        return None
    answered_by = fields.text(call.get("AnsweredBy"), "AnsweredBy")
    if answered_by == _HUMAN:
        return CallStatus.ANSWERED
    if answered_by in _MACHINE:
        return CallStatus.VOICEMAIL
    return None


def _without_call_status(call: Mapping[str, Any]) -> Parsed:
    # An async AMD callback or a recording status callback pointed at our URL: neither is an
    # outcome (the call's own callbacks carry it), and neither names the customer.
    if call.get("AnsweredBy") not in (None, ""):
        return Parsed([], note="an answering machine detection result is not a call outcome")
    if call.get("RecordingStatus") not in (None, ""):
        return Parsed([], note="a recording status is not a call outcome")
    raise BadPayload("CallStatus: required", field="CallStatus")


def _parties(call: Mapping[str, Any], *, outbound: bool, settings: Settings) -> dict[str, Any]:
    customer, line = ("To", "From") if outbound else ("From", "To")
    return {
        "direction": "outbound" if outbound else "inbound",
        "caller": _customer_number(call.get(customer), customer),
        "tracking_number": fields.line_phone(call.get(line), settings.default_phone_region),
    }


def _is_dialled_leg(call: Mapping[str, Any]) -> bool:
    return _direction(call) == _DIALLED_LEG or call.get("ParentCallSid") not in (None, "")


def _direction(call: Mapping[str, Any]) -> str:
    return fields.text(call.get("Direction"), "Direction") or "inbound"


def _required(call: Mapping[str, Any], name: str) -> str:
    value = fields.text(call.get(name), name)
    if value is None:
        raise BadPayload(f"{name}: required", field=name)
    return value


def _ended_at(call: Mapping[str, Any], request: WebhookRequest) -> datetime:
    return fields.instant(call.get("Timestamp"), "Timestamp", UTC) or request.received_at


def _signed_params(request: WebhookRequest) -> list[tuple[str, str]]:
    if request.content_type == "application/json" and request.body:
        # The SDK compares the first bodySHA256 value (`parse_qs(...)["bodySHA256"][0]`).
        offered = parse_qs(request.query).get(BODY_HASH, [""])[0]
        if not hmac.compare_digest(offered.encode(), body_hash(request.body).encode()):
            raise BadSignature("bodySHA256 does not match the body")
        return []  # a JSON callback signs the URL alone
    if not request.body:
        return []
    try:
        return parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadSignature("form body cannot be read") from None


def _with_netloc(parts: ParseResult, netloc: str) -> str:
    return parts._replace(netloc=netloc).geturl()


def _unique(urls: list[str]) -> list[str]:
    return list(dict.fromkeys(urls))


def _check_age(call: dict[str, str], request: WebhookRequest) -> None:
    raw = call.get("Timestamp")
    if not raw:
        return
    try:
        moment = fields.instant(raw, "Timestamp", UTC)
    except BadPayload:
        raise BadSignature("Timestamp cannot be read") from None
    if moment is not None and abs(request.received_at - moment) > TOLERANCE:
        raise BadSignature("Timestamp outside the tolerance window")


def _query_fields(request: WebhookRequest) -> dict[str, str]:
    return dict(parse_qsl(request.query, keep_blank_values=True))


def _fields(request: WebhookRequest) -> dict[str, Any]:
    if request.method == "GET" or not request.body:
        return decode.single_values(decode.form(request.query, "query string"), "query string")
    if request.content_type == "application/json":
        return decode.flat_fields(decode.json_object(request.body))
    return decode.single_values(decode.form(decode.utf8(request.body)))


def _customer_number(value: Any, name: str) -> str | None:
    number = fields.caller_phone(value, name)
    # Twilio Client and SIP legs are addresses, not phone numbers: no `tel` to send.
    if number is None or number.lower().startswith(("client:", "sip:")):
        return None
    return number
