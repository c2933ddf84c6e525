"""Universal Analytics v1 hits for a call: the base hit, and OWOX BI's hit with `tel`; the
destinations `owox` and `ua` that send them.

Pure: no environment, clock or network. The rules and codes hits are checked against are
shared/rules/ua.py's and shared/rules/limits.py's.
"""

from __future__ import annotations

import hashlib
import string
from datetime import datetime
from urllib.parse import quote, urlencode

from shared.errors import CallSkipped, HitRejected, HitTooLarge
from shared.events import CallEvent
from shared.hits.identity import client_id_for
from shared.hits.outbound import (
    Destination,
    OutboundRequest,
    form_headers,
    guard_pii,
    plain_headers,
)
from shared.rules.limits import (
    OWOX_MAX_AGE,
    PAYLOAD_TOO_LARGE,
    UA_GET_LIMIT_GOOGLE,
    UA_MAX_AGE,
    Target,
)
from shared.rules.ua import ParserMessage, ua_payload_limit, ua_size_messages, validate_ua_hit
from shared.settings import Settings

Hit = dict[str, str]

# Call-event attribution fields and the UA traffic-source parameters they feed.
_TRAFFIC_SOURCE = (
    ("utm_source", "cs"),
    ("utm_medium", "cm"),
    ("utm_campaign", "cn"),
    ("utm_term", "ck"),
    ("utm_content", "cc"),
    ("gclid", "gclid"),
    ("dclid", "dclid"),
    ("landing_page", "dl"),
    ("referrer", "dr"),
    ("ip", "uip"),
    ("user_agent", "ua"),
)


def build_ua_hit(event: CallEvent, settings: Settings, client_id: str, now: datetime) -> Hit:
    """The base event hit every UA-format destination shares; `qt` is measured from `now`.

    Raises CallSkipped for a later lead qualification, HitRejected when no property id is
    known for the event.
    """
    if event.is_qualification:
        # A UA event hit would count the qualification as one more call: UA has no lead event.
        raise CallSkipped(
            "a later lead qualification, not a call; Universal Analytics hits report calls only"
        )
    property_id = event.property_id or settings.ua_property_id
    if not property_id:
        raise HitRejected("no UA property id: set UA_PROPERTY_ID or send property_id")
    fields: dict[str, object] = {
        "v": "1",
        "tid": property_id,
        "cid": client_id,
        "uid": event.user_id,
        "t": "event",
        "ec": settings.event_category,
        "ea": settings.action_for(event.status),
        "el": event_label(event, settings),
        "ev": event.duration_s,
        "qt": queue_time_ms(event, now),
    }
    fields.update({param: getattr(event, name) for name, param in _TRAFFIC_SOURCE})
    fields.update(custom_parameters(event, settings))
    fields["ds"] = settings.data_source
    fields["z"] = cache_buster(event.event_id)
    # Absent and empty values are dropped, but 0 (a zero-second missed call) is kept.
    return {key: _text(value) for key, value in fields.items() if value is not None and value != ""}


def owox_hit(base: Hit, caller: str | None) -> Hit:
    """OWOX BI's hit: the base hit plus `tel` (E.164), placed before `ds` as in the seed."""
    if not caller:
        return dict(base)
    hit: Hit = {}
    for key, value in base.items():
        if key == "ds":
            hit["tel"] = caller
        hit[key] = value
    hit.setdefault("tel", caller)
    return hit


def encode_hit(hit: Hit) -> str:
    """URL-encode a hit: spaces as %20 and `+` as %2B, so an E.164 `+` survives transport."""
    return urlencode(hit, quote_via=quote, safe="")


def event_label(event: CallEvent, settings: Settings) -> str:
    """The event label (`el`) from the configured template of non-PII fields."""
    values = {name: _text(getattr(event, name) or "") for name in _label_names(settings)}
    return settings.event_label.format(**values).strip()


def queue_time_ms(event: CallEvent, now: datetime) -> int:
    """Milliseconds between the call's start and `now` (never negative: clocks differ)."""
    return max(0, int((now - event.started_at).total_seconds() * 1000))


def custom_parameters(event: CallEvent, settings: Settings) -> dict[str, str | int | float]:
    """Custom dimensions (`cd<n>`) and metrics (`cm<n>`) from the configured field mapping."""
    params: dict[str, str | int | float] = {}
    for name, target in settings.custom_parameters.items():
        value = event.custom.get(name, getattr(event, name, None))
        if value is None or value == "":
            continue
        if target.startswith("cm"):
            # A metric must be a number; a non-numeric vendor value is left out, not sent wrong.
            if isinstance(value, bool):
                value = int(value)
            elif not isinstance(value, int | float):
                continue
        params[target] = value
    return params


def cache_buster(event_id: str) -> str:
    """A per-event cache buster (`z`): unique per event, the same on every retry of it."""
    return str(int(hashlib.sha256(event_id.encode()).hexdigest()[:12], 16))


def _label_names(settings: Settings) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(settings.event_label) if name]


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# Google's documented GET limit, which common HTTP front ends accept too.
MAX_GET_URL_BYTES = UA_GET_LIMIT_GOOGLE


def build_owox_request(event: CallEvent, settings: Settings, now: datetime) -> OutboundRequest:
    """OWOX BI's UA access point: `GET {OWOX_ENDPOINT}/{property}?{base hit}&tel=…` (the seed).

    A hit too long for a URL is POSTed to the same path instead, as OWOX BI also accepts.
    """
    base = build_ua_hit(
        event, settings, client_id_for(event, settings.client_id_policy("owox")), now
    )
    hit = owox_hit(base, event.caller)
    query = _checked_payload(hit, OWOX.target, event.phones)
    url = f"{settings.owox_endpoint}/{hit['tid']}"
    if len(url) + 1 + len(query) <= MAX_GET_URL_BYTES:
        return OutboundRequest("GET", f"{url}?{query}", None, plain_headers(settings))
    # OWOX BI takes hits up to 16 KB, but few front ends take URLs that long: POST the rest.
    return OutboundRequest("POST", url, query.encode(), form_headers(settings))


def build_ua_request(event: CallEvent, settings: Settings, now: datetime) -> OutboundRequest:
    """Google's UA collect endpoint: the base hit as a form-encoded POST body."""
    hit = build_ua_hit(event, settings, client_id_for(event, settings.client_id_policy("ua")), now)
    body = _checked_payload(hit, UA.target, event.phones).encode()
    return OutboundRequest("POST", settings.ua_collect_url, body, form_headers(settings))


OWOX = Destination("owox", OWOX_MAX_AGE, "owox", build_owox_request)
UA = Destination("ua", UA_MAX_AGE, "google", build_ua_request)


def _checked_payload(hit: Hit, target: Target, phones: tuple[str, ...]) -> str:
    if target == "google":
        guard_pii(hit, phones)
    payload = encode_hit(hit)
    # The hit's rules once, on the dict; the size on the bytes that will be sent.
    messages = validate_ua_hit(hit, target) + ua_size_messages(len(payload.encode()), target)
    errors = [m for m in messages if m.message_type == "ERROR"]
    if any(m.message_code == PAYLOAD_TOO_LARGE for m in errors):
        raise HitTooLarge(f"payload over {ua_payload_limit(target)} bytes")
    if errors:
        raise HitRejected(_describe(errors))
    return payload


def _describe(messages: list[ParserMessage]) -> str:
    # Codes and parameter names only: a value could be a phone number.
    return "; ".join(f"{m.message_code} {m.parameter or 'hit'}" for m in messages)
