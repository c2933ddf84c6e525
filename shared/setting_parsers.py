"""Readers of setting values: an environment variable's text to a typed value, or ValueError.

Each reader's error message is what a deploy's cold-start log shows next to the variable's name,
so it says what was expected and never repeats a secret.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from datetime import tzinfo
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from shared.events import CallEvent, CallStatus, Consent
from shared.rules.ga4 import ga4_event_name_problem

# Fields an event label may name: never a phone number, so never PII by construction.
LABEL_FIELDS = frozenset(
    {"source", "status", "direction", "call_id", "utm_source", "utm_medium", "utm_campaign"}
)
# Event fields a custom dimension or metric may carry: the label's fields and the lead signals.
# Never a phone number, so never PII by construction.
MAPPABLE_FIELDS = LABEL_FIELDS | frozenset(
    {
        "first_call",
        "lead_status",
        "value",
        "currency",
        "recording_available",
        "duration_s",
        "talk_s",
    }
)
GOOGLE_HOSTS = ("google-analytics.com", "analytics.google.com", "google.com", "googleapis.com")
_CUSTOM_TARGET = re.compile(r"^(cd|cm)([1-9]\d?|1\d\d|200)$")
_UA_PROPERTY = re.compile(r"^UA-\d{4,10}-\d{1,4}$", re.IGNORECASE)
# Firestore database ids: `(default)`, or 4-63 of lowercase letters, digits and hyphens.
_DATABASE = re.compile(r"^(\(default\)|[a-z][a-z0-9-]{2,61}[a-z0-9])$")

Dedup = Literal["firestore", "off"]
# What a destination does with a call that has no client id (MISSING_CLIENT_ID, hits/identity.py).
MissingClientIdPolicy = Literal["synthesize", "skip"]
# Extra conditions a call must meet to be a Google Ads conversion (GOOGLE_ADS_REQUIRE).
AdsRequirement = Literal["first_call", "lead"]
_ADS_CUSTOMER_ID = re.compile(r"^\d{3}-?\d{3}-?\d{4}$")
_ADS_CONVERSION_ACTION = re.compile(r"^customers/\d{10}/conversionActions/\d{1,19}$")
# The consent types GA4's Measurement Protocol takes in its `consent` object.
CONSENT_TYPES = ("ad_user_data", "ad_personalization")
# `lead_status` values that mean "a good lead", as the platform modules write them: CallRail's
# `good_lead`, Ringostat's PROPER disposition (`proper`), Calltouch's target and unique target
# calls. CallRail's `previously_marked_good_lead` is a known lead calling again: not a new lead.
DEFAULT_LEAD_STATUSES = frozenset({"good_lead", "proper", "target", "unique_target"})
# `lead_status` values that mean "not a lead": CallRail's `not_a_lead`.
DEFAULT_NOT_LEAD_STATUSES = frozenset({"not_a_lead"})


def ads_customer_id(raw: str) -> str:
    # Google Ads shows ids as 123-456-7890; the API takes the ten digits alone.
    if not _ADS_CUSTOMER_ID.fullmatch(raw):
        raise ValueError("expected a Google Ads customer id: ten digits, dashes allowed")
    return raw.replace("-", "")


def ads_conversion_action(raw: str) -> str:
    if not _ADS_CONVERSION_ACTION.fullmatch(raw):
        raise ValueError("expected customers/<customer id>/conversionActions/<id>")
    return raw


def ads_require(raw: str) -> frozenset[AdsRequirement]:
    required: set[AdsRequirement] = set()
    for item in (part.strip().lower() for part in raw.split(",") if part.strip()):
        if item == "first_call":
            required.add("first_call")
        elif item == "lead":
            required.add("lead")
        else:
            raise ValueError(f"unknown requirement {item!r} (known: first_call, lead)")
    return frozenset(required)


def money(raw: str) -> float:
    value = float(raw)
    if not 0 <= value <= 1e12:
        raise ValueError("a value between 0 and 1e12")
    return value


def currency(raw: str) -> str:
    if not re.fullmatch(r"[A-Z]{3}", raw):
        raise ValueError("an ISO 4217 code in capitals, like USD")
    return raw


def zone(raw: str) -> tzinfo:
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {raw!r} (e.g. America/New_York)") from None


def non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be zero or more")
    return value


def resource_name(raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9._~+%-]{2,254}", raw):
        raise ValueError("not a valid Pub/Sub resource name")
    return raw


def dedup(raw: str) -> Dedup:
    if raw == "firestore":
        return "firestore"
    if raw == "off":
        return "off"
    raise ValueError("expected firestore (the default) or off")


def database(raw: str) -> str:
    if not _DATABASE.fullmatch(raw):
        raise ValueError("not a Firestore database id: (default), or 4-63 of a-z, 0-9 and -")
    return raw


def collection(raw: str) -> str:
    # A collection id, not a path: a slash would make it a subcollection of some document.
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,99}", raw):
        raise ValueError("a collection id: a letter, then letters, digits, _ or -, at most 100")
    return raw


def region(raw: str) -> str:
    region = raw.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("not a two-letter region phonenumbers knows (e.g. US, GB, UA)")
    return region


def ua_property(raw: str) -> str:
    if not _UA_PROPERTY.fullmatch(raw):
        raise ValueError("expected a property id like UA-12345678-1")
    return raw.upper()


def measurement_id(raw: str) -> str:
    if not re.fullmatch(r"G-[A-Z0-9]{4,20}", raw):
        raise ValueError("expected a measurement id like G-ABC123XYZ")
    return raw


def ga4_secrets(raw: str) -> dict[str, str]:
    try:
        pairs = _pairs(raw)
    except ValueError:
        # _pairs quotes the bad item, which here would put an API secret in the cold-start log.
        raise ValueError("expected G-XXXX=secret pairs separated by commas") from None
    return {measurement_id(stream): secret for stream, secret in pairs}


def ga4_event_name(raw: str) -> str:
    # GA4's own naming rules, as its /debug/mp/collect applies them, so a bad name fails here.
    problem = ga4_event_name_problem(raw)
    if problem:
        raise ValueError(f"not a GA4 event name: {problem}")
    return raw


def ga4_lead_event_name(raw: str) -> str | None:
    return None if raw.lower() == "off" else ga4_event_name(raw)


def consent_default(raw: str) -> dict[str, Consent]:
    consent: dict[str, Consent] = {}
    for kind, value in _pairs(raw):
        if kind not in CONSENT_TYPES:
            raise ValueError(f"unknown consent type {kind!r} (known: {', '.join(CONSENT_TYPES)})")
        if value.upper() == "GRANTED":
            consent[kind] = "GRANTED"
        elif value.upper() == "DENIED":
            consent[kind] = "DENIED"
        else:
            raise ValueError(f"{kind}: expected GRANTED or DENIED")
    return consent


def lead_statuses(raw: str) -> frozenset[str]:
    if raw.lower() == "off":
        return frozenset()
    statuses = frozenset(item.strip().lower() for item in raw.split(",") if item.strip())
    if not statuses or any(len(status) > 256 for status in statuses):
        raise ValueError("comma-separated lead_status values of at most 256 characters, or off")
    return statuses


def url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an http(s) URL")
    return raw


def source_timezones(raw: str) -> dict[str, ZoneInfo]:
    zones = {}
    for source, name in _pairs(raw):
        try:
            zones[source.lower()] = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{source}: unknown time zone {name!r} (e.g. Europe/Kyiv)") from None
    return zones


def base_url(raw: str) -> str:
    return url(raw).rstrip("/")


def owox_url(raw: str) -> str:
    # OWOX BI's hits carry the caller's phone: pointing them at Google would leak it.
    host = (urlsplit(raw).hostname or "").lower()
    if host.endswith(GOOGLE_HOSTS):
        raise ValueError("points at a Google host, but OWOX BI hits carry phone numbers")
    return base_url(raw)


def text(limit: int) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if len(raw.encode()) > limit:
            raise ValueError(f"longer than {limit} bytes")
        return raw

    return parse


def flag(raw: str) -> bool:
    word = raw.lower()
    if word in ("true", "1", "yes", "on"):
        return True
    if word in ("false", "0", "no", "off"):
        return False
    raise ValueError("expected true or false")


def positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("must be a positive number")
    return value


def positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _pairs(raw: str) -> list[tuple[str, str]]:
    pairs = []
    for item in raw.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"expected key=value pairs separated by commas, got {item!r}")
        pairs.append((key.strip(), value.strip()))
    return pairs


def event_actions(raw: str) -> dict[CallStatus, str]:
    actions = {}
    for status, action in _pairs(raw):
        try:
            actions[CallStatus(status)] = action
        except ValueError:
            known = ", ".join(s.value for s in CallStatus)
            raise ValueError(f"unknown status {status!r} (known: {known})") from None
    return actions


def client_id_policies(raw: str) -> dict[str, MissingClientIdPolicy]:
    policies: dict[str, MissingClientIdPolicy] = {}
    for item in raw.split(","):
        destination, _, policy = item.strip().rpartition("=")
        if policy == "synthesize":
            policies[destination.strip()] = "synthesize"
        elif policy == "skip":
            policies[destination.strip()] = "skip"
        else:
            raise ValueError(
                f"expected synthesize or skip, optionally as destination=policy: {item!r}"
            )
    return policies


def label_template(raw: str) -> str:
    names = {name for _, name, _, _ in string.Formatter().parse(raw) if name is not None}
    unknown = names - LABEL_FIELDS
    if unknown:
        raise ValueError(f"label may use only {sorted(LABEL_FIELDS)}, not {sorted(unknown)}")
    return raw


def custom_parameters(raw: str) -> dict[str, str]:
    mapping = {}
    for name, target in _pairs(raw):
        if not _CUSTOM_TARGET.fullmatch(target):
            raise ValueError(f"{name}: target must be cd1..cd200 or cm1..cm200, got {target!r}")
        if name in CallEvent.model_fields and name not in MAPPABLE_FIELDS:
            mappable = ", ".join(sorted(MAPPABLE_FIELDS))
            raise ValueError(f"{name}: only `custom` fields and {mappable} can be mapped")
        mapping[name] = target
    return mapping
