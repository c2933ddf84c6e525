"""Environment variables parsed once into frozen Settings; a bad deploy fails at cold start."""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from shared.errors import ConfigError
from shared.events import CallEvent, CallStatus, Consent
from shared.rules.ga4 import ga4_event_name_problem

T = TypeVar("T")

SECRET_PREFIX = "WEBHOOK_SECRET_"  # noqa: S105 (a variable-name prefix, not a secret)
# Fields an event label may name: never a phone number, so never PII by construction.
LABEL_FIELDS = frozenset(
    {"source", "status", "direction", "call_id", "utm_source", "utm_medium", "utm_campaign"}
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
# `lead_status` values that mean "a good lead", as the platform modules write them: CallRail's
# `good_lead`, Ringostat's PROPER disposition (`proper`), Calltouch's target and unique target
# calls. CallRail's `previously_marked_good_lead` is a known lead calling again: not a new lead.
# The consent types GA4's Measurement Protocol takes in its `consent` object.
CONSENT_TYPES = ("ad_user_data", "ad_personalization")
DEFAULT_LEAD_STATUSES = frozenset({"good_lead", "proper", "target", "unique_target"})


@dataclass(frozen=True)
class Settings:
    """Every knob of both functions; tests build it directly, deploys use `from_env`."""

    project_id: str = "local-project"
    topic: str = "call-events"
    dead_letter_topic: str = "call-events-dead-letter"
    default_phone_region: str = "US"
    ua_property_id: str | None = None
    owox_endpoint: str = "https://google-analytics.bi.owox.com"
    ua_collect_url: str = "https://www.google-analytics.com/collect"
    ga4_collect_url: str = "https://www.google-analytics.com/mp/collect"
    ga4_measurement_id: str | None = None
    # Secrets stay out of repr(), so logging a Settings never leaks one.
    ga4_api_secret: str | None = field(default=None, repr=False)
    # API secrets of further GA4 streams, for events that carry their own measurement_id.
    ga4_api_secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    ga4_event_name: str = "phone_call"
    # GA4's recommended lead event, sent besides the call event for a lead (None: never).
    ga4_lead_event_name: str | None = "generate_lead"
    # Lower-case `lead_status` values that make a call a lead.
    ga4_lead_statuses: frozenset[str] = DEFAULT_LEAD_STATUSES
    # GA4 consent for calls that carry none, per consent type; empty: send no consent object.
    ga4_consent_default: Mapping[str, Consent] = field(default_factory=dict)
    owox_ga4_url: str | None = None
    webhook_secrets: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    event_category: str = "call"
    event_actions: Mapping[CallStatus, str] = field(default_factory=dict)
    event_label: str = "{source}"
    custom_parameters: Mapping[str, str] = field(default_factory=dict)
    data_source: str = "call center"
    user_agent: str = "owox-call-bridge/0.1"
    http_timeout_s: float = 10.0
    publish_timeout_s: float = 10.0
    max_body_bytes: int = 512 * 1024
    public_base_url: str | None = None
    # Vendors that send naive local times (UIS, Ringostat, Calltouch): source → IANA zone.
    source_timezones: Mapping[str, ZoneInfo] = field(default_factory=dict)
    # Per destination; "" holds the default for destinations not named.
    missing_client_id: Mapping[str, MissingClientIdPolicy] = field(default_factory=dict)
    # The delivery ledger that stops a redelivered event from being sent twice (deliveries.py).
    dedup: Dedup = "firestore"
    firestore_database: str = "call-bridge"
    deliveries_collection: str = "deliveries"
    # Longer than one attempt can live (dispatch's 60 s request timeout) and shorter than the
    # gap to Pub/Sub's next attempt (120 s minimum backoff): a live attempt keeps its claim, a
    # crashed one's has lapsed when the event comes back. Terraform sets the same: timeout + 30.
    delivery_lease_s: float = 90.0
    ledger_timeout_s: float = 5.0
    # A call the platform marked as spam reaches no destination unless this is on.
    send_spam: bool = False
    # Google Ads click conversions (shared/hits/ads.py, shared/ads_client.py).
    google_ads_api_url: str = "https://googleads.googleapis.com"
    google_ads_token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL)
    google_ads_customer_id: str | None = None
    # The manager account the credentials sign in through, when they are a manager's.
    google_ads_login_customer_id: str | None = None
    google_ads_conversion_action: str | None = None
    google_ads_developer_token: str | None = field(default=None, repr=False)
    google_ads_client_id: str | None = None
    google_ads_client_secret: str | None = field(default=None, repr=False)
    google_ads_refresh_token: str | None = field(default=None, repr=False)
    # Which calls convert: answered, at least this much talk time, plus GOOGLE_ADS_REQUIRE.
    google_ads_min_talk_s: int = 60
    google_ads_require: frozenset[AdsRequirement] = frozenset()
    google_ads_default_value: float | None = None
    google_ads_default_currency: str | None = None
    # The offset conversion_date_time is written with; any zone names the same instant.
    google_ads_timezone: tzinfo = UTC
    # Enhanced conversions for leads: the caller's hashed E.164 number, with ad_user_data consent.
    google_ads_enhanced_conversions: bool = False

    def client_id_policy(self, destination: str) -> MissingClientIdPolicy:
        """What a destination does with an event that has no client id."""
        return self.missing_client_id.get(destination, self.missing_client_id.get("", "synthesize"))

    def timezone_for(self, source: str) -> tzinfo:
        """The zone a source's naive local times are in (SOURCE_TIMEZONES; UTC by default)."""
        return self.source_timezones.get(source, UTC)

    def secrets_for(self, source: str) -> tuple[str, ...]:
        """The accepted secrets of a source; empty means the source is disabled."""
        return self.webhook_secrets.get(source, ())

    def ga4_secret_for(self, measurement_id: str) -> str | None:
        """The Measurement Protocol API secret of a GA4 stream, if configured."""
        if measurement_id == self.ga4_measurement_id and self.ga4_api_secret:
            return self.ga4_api_secret
        return self.ga4_api_secrets.get(measurement_id)

    def action_for(self, status: CallStatus) -> str:
        """The event action (`ea`) for a call status."""
        return self.event_actions.get(status, status.value)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read every variable; raises ConfigError listing all the bad ones at once."""
        problems: list[str] = []

        def read(name: str, parse: Callable[[str], T], default: T) -> T:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                return parse(raw)
            except ValueError as error:
                problems.append(f"{name}: {error}")
                return default

        defaults = cls()
        settings = cls(
            project_id=read("GOOGLE_CLOUD_PROJECT", str, defaults.project_id),
            topic=read("PUBSUB_TOPIC", _resource_name, defaults.topic),
            dead_letter_topic=read("DEAD_LETTER_TOPIC", _resource_name, defaults.dead_letter_topic),
            default_phone_region=read("DEFAULT_PHONE_REGION", _region, "US"),
            ua_property_id=read("UA_PROPERTY_ID", _ua_property, None),
            owox_endpoint=read("OWOX_ENDPOINT", _owox_url, defaults.owox_endpoint),
            ua_collect_url=read("UA_COLLECT_URL", _url, defaults.ua_collect_url),
            ga4_collect_url=read("GA4_COLLECT_URL", _url, defaults.ga4_collect_url),
            ga4_measurement_id=read("GA4_MEASUREMENT_ID", _measurement_id, None),
            ga4_api_secret=read("GA4_API_SECRET", str, None),
            ga4_api_secrets=read("GA4_API_SECRETS", _ga4_secrets, {}),
            ga4_event_name=read("GA4_EVENT_NAME", _ga4_event_name, defaults.ga4_event_name),
            ga4_lead_event_name=read(
                "GA4_LEAD_EVENT_NAME", _ga4_lead_event_name, defaults.ga4_lead_event_name
            ),
            ga4_lead_statuses=read("GA4_LEAD_STATUSES", _lead_statuses, defaults.ga4_lead_statuses),
            ga4_consent_default=read("GA4_CONSENT_DEFAULT", _consent_default, {}),
            owox_ga4_url=read("OWOX_GA4_URL", _owox_url, None),
            webhook_secrets=_webhook_secrets(env, problems),
            event_category=read("EVENT_CATEGORY", _text(150), defaults.event_category),
            event_actions=read("EVENT_ACTIONS", _event_actions, {}),
            event_label=read("EVENT_LABEL", _label_template, defaults.event_label),
            custom_parameters=read("CUSTOM_PARAMETERS", _custom_parameters, {}),
            data_source=read("DATA_SOURCE", _text(100), defaults.data_source),
            user_agent=read("HTTP_USER_AGENT", _text(200), defaults.user_agent),
            http_timeout_s=read("HTTP_TIMEOUT_SECONDS", _positive_float, defaults.http_timeout_s),
            publish_timeout_s=read(
                "PUBLISH_TIMEOUT_SECONDS", _positive_float, defaults.publish_timeout_s
            ),
            max_body_bytes=read("MAX_BODY_BYTES", _positive_int, defaults.max_body_bytes),
            public_base_url=read("PUBLIC_BASE_URL", _base_url, None),
            source_timezones=read("SOURCE_TIMEZONES", _source_timezones, {}),
            missing_client_id=read("MISSING_CLIENT_ID", _client_id_policies, {}),
            dedup=read("DEDUP", _dedup, defaults.dedup),
            firestore_database=read("FIRESTORE_DATABASE", _database, defaults.firestore_database),
            deliveries_collection=read(
                "DELIVERIES_COLLECTION", _collection, defaults.deliveries_collection
            ),
            delivery_lease_s=read(
                "DELIVERY_LEASE_SECONDS", _positive_float, defaults.delivery_lease_s
            ),
            ledger_timeout_s=read(
                "LEDGER_TIMEOUT_SECONDS", _positive_float, defaults.ledger_timeout_s
            ),
            send_spam=read("SEND_SPAM", _flag, defaults.send_spam),
            google_ads_api_url=read("GOOGLE_ADS_API_URL", _base_url, defaults.google_ads_api_url),
            google_ads_token_url=read("GOOGLE_ADS_TOKEN_URL", _url, defaults.google_ads_token_url),
            google_ads_customer_id=read("GOOGLE_ADS_CUSTOMER_ID", _ads_customer_id, None),
            google_ads_login_customer_id=read(
                "GOOGLE_ADS_LOGIN_CUSTOMER_ID", _ads_customer_id, None
            ),
            google_ads_conversion_action=read(
                "GOOGLE_ADS_CONVERSION_ACTION", _ads_conversion_action, None
            ),
            google_ads_developer_token=read("GOOGLE_ADS_DEVELOPER_TOKEN", str, None),
            google_ads_client_id=read("GOOGLE_ADS_CLIENT_ID", str, None),
            google_ads_client_secret=read("GOOGLE_ADS_CLIENT_SECRET", str, None),
            google_ads_refresh_token=read("GOOGLE_ADS_REFRESH_TOKEN", str, None),
            google_ads_min_talk_s=read(
                "GOOGLE_ADS_MIN_TALK_SECONDS", _non_negative_int, defaults.google_ads_min_talk_s
            ),
            google_ads_require=read("GOOGLE_ADS_REQUIRE", _ads_require, frozenset()),
            google_ads_default_value=read("GOOGLE_ADS_DEFAULT_VALUE", _money, None),
            google_ads_default_currency=read("GOOGLE_ADS_DEFAULT_CURRENCY", _currency, None),
            google_ads_timezone=read("GOOGLE_ADS_TIMEZONE", _zone, defaults.google_ads_timezone),
            google_ads_enhanced_conversions=read(
                "GOOGLE_ADS_ENHANCED_CONVERSIONS", _flag, defaults.google_ads_enhanced_conversions
            ),
        )
        if settings.ga4_lead_event_name == settings.ga4_event_name:
            problems.append(
                "GA4_LEAD_EVENT_NAME: the same as GA4_EVENT_NAME; a lead would count twice"
            )
        if problems:
            raise ConfigError(problems)
        return settings


def _webhook_secrets(env: Mapping[str, str], problems: list[str]) -> dict[str, tuple[str, ...]]:
    secrets: dict[str, tuple[str, ...]] = {}
    for name, raw in env.items():
        if not name.startswith(SECRET_PREFIX):
            continue
        source = name.removeprefix(SECRET_PREFIX).lower()
        # Comma-separated values let an old and a new secret both verify during rotation.
        values = tuple(value.strip() for value in raw.split(",") if value.strip())
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", source):
            problems.append(f"{name}: not a valid source name")
        elif values:
            secrets[source] = values
    return secrets


def _ads_customer_id(raw: str) -> str:
    # Google Ads shows ids as 123-456-7890; the API takes the ten digits alone.
    if not _ADS_CUSTOMER_ID.fullmatch(raw):
        raise ValueError("expected a Google Ads customer id: ten digits, dashes allowed")
    return raw.replace("-", "")


def _ads_conversion_action(raw: str) -> str:
    if not _ADS_CONVERSION_ACTION.fullmatch(raw):
        raise ValueError("expected customers/<customer id>/conversionActions/<id>")
    return raw


def _ads_require(raw: str) -> frozenset[AdsRequirement]:
    required: set[AdsRequirement] = set()
    for item in (part.strip().lower() for part in raw.split(",") if part.strip()):
        if item == "first_call":
            required.add("first_call")
        elif item == "lead":
            required.add("lead")
        else:
            raise ValueError(f"unknown requirement {item!r} (known: first_call, lead)")
    return frozenset(required)


def _money(raw: str) -> float:
    value = float(raw)
    if not 0 <= value <= 1e12:
        raise ValueError("a value between 0 and 1e12")
    return value


def _currency(raw: str) -> str:
    if not re.fullmatch(r"[A-Z]{3}", raw):
        raise ValueError("an ISO 4217 code in capitals, like USD")
    return raw


def _zone(raw: str) -> tzinfo:
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {raw!r} (e.g. America/New_York)") from None


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be zero or more")
    return value


def _resource_name(raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9._~+%-]{2,254}", raw):
        raise ValueError("not a valid Pub/Sub resource name")
    return raw


def _dedup(raw: str) -> Dedup:
    if raw == "firestore":
        return "firestore"
    if raw == "off":
        return "off"
    raise ValueError("expected firestore (the default) or off")


def _database(raw: str) -> str:
    if not _DATABASE.fullmatch(raw):
        raise ValueError("not a Firestore database id: (default), or 4-63 of a-z, 0-9 and -")
    return raw


def _collection(raw: str) -> str:
    # A collection id, not a path: a slash would make it a subcollection of some document.
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,99}", raw):
        raise ValueError("a collection id: a letter, then letters, digits, _ or -, at most 100")
    return raw


def _region(raw: str) -> str:
    region = raw.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("not a two-letter region phonenumbers knows (e.g. US, GB, UA)")
    return region


def _ua_property(raw: str) -> str:
    if not _UA_PROPERTY.fullmatch(raw):
        raise ValueError("expected a property id like UA-12345678-1")
    return raw.upper()


def _measurement_id(raw: str) -> str:
    if not re.fullmatch(r"G-[A-Z0-9]{4,20}", raw):
        raise ValueError("expected a measurement id like G-ABC123XYZ")
    return raw


def _ga4_secrets(raw: str) -> dict[str, str]:
    try:
        pairs = _pairs(raw)
    except ValueError:
        # _pairs quotes the bad item, which here would put an API secret in the cold-start log.
        raise ValueError("expected G-XXXX=secret pairs separated by commas") from None
    return {_measurement_id(stream): secret for stream, secret in pairs}


def _ga4_event_name(raw: str) -> str:
    # GA4's own naming rules, as its /debug/mp/collect applies them, so a bad name fails here.
    problem = ga4_event_name_problem(raw)
    if problem:
        raise ValueError(f"not a GA4 event name: {problem}")
    return raw


def _ga4_lead_event_name(raw: str) -> str | None:
    return None if raw.lower() == "off" else _ga4_event_name(raw)


def _consent_default(raw: str) -> dict[str, Consent]:
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


def _lead_statuses(raw: str) -> frozenset[str]:
    if raw.lower() == "off":
        return frozenset()
    statuses = frozenset(item.strip().lower() for item in raw.split(",") if item.strip())
    if not statuses or any(len(status) > 256 for status in statuses):
        raise ValueError("comma-separated lead_status values of at most 256 characters, or off")
    return statuses


def _url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an http(s) URL")
    return raw


def _source_timezones(raw: str) -> dict[str, ZoneInfo]:
    zones = {}
    for source, name in _pairs(raw):
        try:
            zones[source.lower()] = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{source}: unknown time zone {name!r} (e.g. Europe/Kyiv)") from None
    return zones


def _base_url(raw: str) -> str:
    return _url(raw).rstrip("/")


def _owox_url(raw: str) -> str:
    # OWOX BI's hits carry the caller's phone: pointing them at Google would leak it.
    host = (urlsplit(raw).hostname or "").lower()
    if host.endswith(GOOGLE_HOSTS):
        raise ValueError("points at a Google host, but OWOX BI hits carry phone numbers")
    return _base_url(raw)


def _text(limit: int) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if len(raw.encode()) > limit:
            raise ValueError(f"longer than {limit} bytes")
        return raw

    return parse


def _flag(raw: str) -> bool:
    word = raw.lower()
    if word in ("true", "1", "yes", "on"):
        return True
    if word in ("false", "0", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("must be a positive number")
    return value


def _positive_int(raw: str) -> int:
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


def _event_actions(raw: str) -> dict[CallStatus, str]:
    actions = {}
    for status, action in _pairs(raw):
        try:
            actions[CallStatus(status)] = action
        except ValueError:
            known = ", ".join(s.value for s in CallStatus)
            raise ValueError(f"unknown status {status!r} (known: {known})") from None
    return actions


def _client_id_policies(raw: str) -> dict[str, MissingClientIdPolicy]:
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


def _label_template(raw: str) -> str:
    names = {name for _, name, _, _ in string.Formatter().parse(raw) if name is not None}
    unknown = names - LABEL_FIELDS
    if unknown:
        raise ValueError(f"label may use only {sorted(LABEL_FIELDS)}, not {sorted(unknown)}")
    return raw


def _custom_parameters(raw: str) -> dict[str, str]:
    mapping = {}
    for name, target in _pairs(raw):
        if not _CUSTOM_TARGET.fullmatch(target):
            raise ValueError(f"{name}: target must be cd1..cd200 or cm1..cm200, got {target!r}")
        if name in CallEvent.model_fields and name not in LABEL_FIELDS:
            raise ValueError(f"{name}: only `custom` fields and non-PII fields can be mapped")
        mapping[name] = target
    return mapping
