"""GA4 Measurement Protocol bodies for a call, and the destinations `ga4` and `owox_ga4` that
send them. Pure: no environment, clock or network."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from shared.errors import CallSkipped, HitRejected, HitTooLarge
from shared.events import CallEvent, CallStatus, Direction
from shared.hits.identity import client_id_for
from shared.hits.outbound import Destination, OutboundRequest, guard_pii, json_headers
from shared.rules.ga4 import validate_ga4_body
from shared.rules.limits import (
    GA4_BODY_LIMIT,
    GA4_LONG_VALUES,
    GA4_MAX_AGE,
    GA4_MAX_VALUE,
    OWOX_GA4_MAX_AGE,
    VALUE_OUT_OF_BOUNDS,
)
from shared.setting_parsers import CONSENT_TYPES
from shared.settings import Settings

# Call-event fields and the GA4 event parameters they feed. Traffic-source names follow GA4's
# `campaign_details` event; page_location/page_referrer have GA4's longer value limits.
_PARAMS = (
    # The event id lets a BigQuery export drop the duplicate of an at-least-once redelivery.
    ("event_id", "call_event_id"),
    ("source", "call_source"),
    ("status", "call_status"),
    ("direction", "call_direction"),
    ("duration_s", "call_duration"),
    ("talk_s", "call_talk_time"),
    ("utm_source", "source"),
    ("utm_medium", "medium"),
    ("utm_campaign", "campaign"),
    ("utm_term", "term"),
    ("utm_content", "content"),
    ("landing_page", "page_location"),
    ("referrer", "page_referrer"),
    ("session_id", "session_id"),
    # Lead signals under their own names; `value` and `currency` are GA4's own parameters.
    ("first_call", "first_call"),
    ("lead_status", "lead_status"),
    ("value", "value"),
    ("currency", "currency"),
)


# GA4's recommended events for a lead's later qualification (Google Analytics, "Recommended
# events", lead generation: qualify_lead, disqualify_lead).
QUALIFY_LEAD = "qualify_lead"
DISQUALIFY_LEAD = "disqualify_lead"


def build_ga4_body(
    event: CallEvent, settings: Settings, client_id: str, now: datetime
) -> dict[str, Any]:
    """The `/mp/collect` JSON body, dated when it happened: for a call, the call event and for a
    lead also the lead event with the same parameters; for a qualification, its one event.

    A time after `now` (a vendor clock running fast) is dated `now`: GA4 refuses future times.
    Raises CallSkipped for a qualification whose lead status is in neither status setting.
    """
    params = call_params(event, settings)
    if event.is_qualification:
        # The call's own id: the qualification joins its call's event in a BigQuery export.
        params["call_event_id"] = event.call_event_id
        events = [{"name": qualification_event_name(event, settings), "params": params}]
    else:
        events = [{"name": settings.ga4_event_name, "params": params}]
        if settings.ga4_lead_event_name and is_lead(event, settings):
            events.append({"name": settings.ga4_lead_event_name, "params": dict(params)})
    body: dict[str, Any] = {
        "client_id": client_id,
        "timestamp_micros": int(min(event.occurred_at, now).timestamp() * 1_000_000),
        "events": events,
    }
    consent = consent_for(event, settings)
    if consent:
        body["consent"] = consent
    if event.user_id:
        body["user_id"] = event.user_id
    if event.ip:
        body["ip_override"] = event.ip
    return body


def call_params(event: CallEvent, settings: Settings) -> dict[str, Any]:
    """The event parameters describing the call: mapped fields, custom fields, engagement."""
    params: dict[str, Any] = {}
    for field_name, param in _PARAMS:
        value = getattr(event, field_name)
        if value is not None and value != "":
            # GA4 parameters are strings or numbers: a flag travels as 1 or 0.
            params[param] = int(value) if isinstance(value, bool) else value
    # A mapped custom field of the same name (CallRail's `custom.value`) never overrides the
    # call's own, already normalised value.
    for name, value in custom_event_params(event, settings).items():
        params.setdefault(name, value)
    # GA4 counts an event towards users and engagement only with a positive engagement time;
    # 1 ms marks the call as engaged without inflating the site's engagement time.
    params["engagement_time_msec"] = 1
    return params


def consent_for(event: CallEvent, settings: Settings) -> dict[str, str]:
    """GA4's `consent` object: the call's own consent per type, else GA4_CONSENT_DEFAULT's."""
    carried = {
        "ad_user_data": event.consent_ad_user_data,
        "ad_personalization": event.consent_ad_personalization,
    }
    consent: dict[str, str] = {}
    for kind in CONSENT_TYPES:
        value = carried[kind] or settings.ga4_consent_default.get(kind)
        if value:
            consent[kind] = value
    return consent


def is_lead(event: CallEvent, settings: Settings) -> bool:
    """A lead: an answered inbound first call, or a `lead_status` in GA4_LEAD_STATUSES."""
    first_answered = (
        event.first_call is True
        and event.status is CallStatus.ANSWERED
        and event.direction is Direction.INBOUND
    )
    qualified = (event.lead_status or "").lower() in settings.ga4_lead_statuses
    return first_answered or qualified


def qualification_event_name(event: CallEvent, settings: Settings) -> str:
    """`qualify_lead` for a status in GA4_LEAD_STATUSES, `disqualify_lead` for one in
    GA4_NOT_LEAD_STATUSES; raises CallSkipped for any other status.
    """
    status = (event.lead_status or "").lower()
    if status in settings.ga4_lead_statuses:
        return QUALIFY_LEAD
    if status in settings.ga4_not_lead_statuses:
        return DISQUALIFY_LEAD
    raise CallSkipped(
        "lead status in neither GA4_LEAD_STATUSES nor GA4_NOT_LEAD_STATUSES; "
        "the qualification is not sent"
    )


def owox_ga4_body(body: dict[str, Any], caller: str | None) -> dict[str, Any]:
    """OWOX BI's GA4 body: the Google body plus the caller's E.164 phone as `tel` on each event.

    Derived by adding to the Google body, never the other way round, so Google's copy cannot
    carry the phone. Each event gets it because each becomes its own row in OWOX BI's tables.
    """
    if not caller:
        return body
    events = [{**event, "params": {**event["params"], "tel": caller}} for event in body["events"]]
    return {**body, "events": events}


def fit_ga4_body(body: dict[str, Any]) -> dict[str, Any]:
    """The body with each text parameter cut to GA4's limit for it: a long landing URL or
    campaign name should not cost the whole call, and GA4 keeps no more than this anyway.

    Run the PII guard before this: a cut could leave part of a phone number behind.
    """
    events = [
        {**event, "params": {name: _fit(name, value) for name, value in event["params"].items()}}
        for event in body["events"]
    ]
    return {**body, "events": events}


def _fit(name: str, value: Any) -> Any:
    if isinstance(value, str):
        return value[: GA4_LONG_VALUES.get(name, GA4_MAX_VALUE)]
    return value


def custom_event_params(event: CallEvent, settings: Settings) -> dict[str, Any]:
    """The custom fields mapped in CUSTOM_PARAMETERS, as GA4 event parameters by their names."""
    params: dict[str, Any] = {}
    for name in settings.custom_parameters:
        value = event.custom.get(name, getattr(event, name, None))
        if value is not None and value != "":
            params[name] = int(value) if isinstance(value, bool) else value
    return params


def build_ga4_request(event: CallEvent, settings: Settings, now: datetime) -> OutboundRequest:
    """Google's GA4 Measurement Protocol: the JSON body POSTed with the stream's id and secret.

    Raises HitRejected when no measurement id or API secret is configured for the event.
    """
    measurement_id = event.measurement_id or settings.ga4_measurement_id
    if not measurement_id:
        raise HitRejected("no GA4 measurement id: set GA4_MEASUREMENT_ID or send measurement_id")
    api_secret = settings.ga4_secret_for(measurement_id)
    if not api_secret:
        raise HitRejected("no API secret for this measurement id: set GA4_API_SECRET(S)")
    body = _checked_ga4_body(GA4, event, settings, now)
    query = urlencode({"measurement_id": measurement_id, "api_secret": api_secret})
    url = f"{settings.ga4_collect_url}?{query}"
    return OutboundRequest("POST", url, body, json_headers(settings))


def build_owox_ga4_request(event: CallEvent, settings: Settings, now: datetime) -> OutboundRequest:
    """OWOX BI's GA4 access point: the same JSON body POSTed to the streaming URL.

    Raises HitRejected when OWOX_GA4_URL is not set.
    """
    if not settings.owox_ga4_url:
        raise HitRejected("no OWOX BI GA4 streaming URL: set OWOX_GA4_URL")
    body = _checked_ga4_body(OWOX_GA4, event, settings, now)
    return OutboundRequest("POST", settings.owox_ga4_url, body, json_headers(settings))


GA4 = Destination("ga4", GA4_MAX_AGE, "google", build_ga4_request)
# The age limit is the one difference from `ga4` besides the phone (OWOX_GA4_MAX_AGE).
OWOX_GA4 = Destination("owox_ga4", OWOX_GA4_MAX_AGE, "owox", build_owox_ga4_request)


def _checked_ga4_body(
    destination: Destination, event: CallEvent, settings: Settings, now: datetime
) -> bytes:
    client_id = client_id_for(event, settings.client_id_policy(destination.name))
    body = build_ga4_body(event, settings, client_id, now)
    # The seed's rule: Google's body must prove no phone hides in it; OWOX BI's is that same
    # body plus the caller's phone, so the two differ by `tel` alone.
    if destination.target == "google":
        guard_pii(body, event.phones)
    else:
        body = owox_ga4_body(body, event.caller)
    body = fit_ga4_body(body)
    encoded = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    # GA4 takes events back-dated by 72 hours; OWOX BI's access point keeps older ones too.
    problems = validate_ga4_body(encoded, now, max_age=destination.max_age)
    if any(m.validation_code == VALUE_OUT_OF_BOUNDS and not m.field_path for m in problems):
        raise HitTooLarge(f"body over {GA4_BODY_LIMIT} bytes")
    if problems:
        raise HitRejected("; ".join(f"{m.validation_code} {m.field_path}" for m in problems))
    return encoded
