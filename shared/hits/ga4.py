"""GA4 Measurement Protocol bodies for a call. Pure: no environment, clock or network."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events import CallEvent, CallStatus, Direction
from shared.rules.limits import GA4_LONG_VALUES, GA4_MAX_VALUE
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


def build_ga4_body(
    event: CallEvent, settings: Settings, client_id: str, now: datetime
) -> dict[str, Any]:
    """The `/mp/collect` JSON body, dated at the call's start: the call event, and for a lead
    also the lead event with the same parameters.

    A start after `now` (a vendor clock running fast) is dated `now`: GA4 refuses future times.
    """
    params = call_params(event, settings)
    events = [{"name": settings.ga4_event_name, "params": params}]
    if settings.ga4_lead_event_name and is_lead(event, settings):
        events.append({"name": settings.ga4_lead_event_name, "params": dict(params)})
    body: dict[str, Any] = {
        "client_id": client_id,
        "timestamp_micros": int(min(event.started_at, now).timestamp() * 1_000_000),
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
