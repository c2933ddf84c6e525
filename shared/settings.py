"""Environment variables parsed once into frozen Settings; a bad deploy fails at cold start.

Each variable is declared once, in VARIABLES (name, field, reader, meaning; the default is the
field's): `Settings.from_env` reads them, `python -m tools.config_docs` writes
docs/configuration.md from them, and the tests' environment isolation clears them. Over 400
lines because that table, one entry per variable with its meaning, is the configuration's
documentation; the readers of values live in setting_parsers.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from shared import setting_parsers as parse
from shared.errors import ConfigError
from shared.events import CallStatus, Consent
from shared.setting_parsers import (
    DEFAULT_LEAD_STATUSES,
    DEFAULT_NOT_LEAD_STATUSES,
    AdsRequirement,
    Dedup,
    MissingClientIdPolicy,
)

SECRET_PREFIX = "WEBHOOK_SECRET_"  # noqa: S105 (a variable-name prefix, not a secret)
SECRETS_MEANING = (
    "secret of a source (`WEBHOOK_SECRET_GENERIC`, `WEBHOOK_SECRET_CALLRAIL`, …); comma-separate "
    "several during rotation; a source without one is disabled"
)
# Read by the Google client libraries, not by Settings: tests clear them like the settings.
EMULATOR_VARIABLES = ("PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST")


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
    # Lower-case `lead_status` values that disqualify a call in a later qualification.
    ga4_not_lead_statuses: frozenset[str] = DEFAULT_NOT_LEAD_STATUSES
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
        defaults = cls()
        values: dict[str, Any] = {
            variable.field: _read(env, variable, getattr(defaults, variable.field), problems)
            for variable in VARIABLES
        }
        values["webhook_secrets"] = _webhook_secrets(env, problems)
        settings = cls(**values)
        if settings.ga4_lead_event_name == settings.ga4_event_name:
            problems.append(
                "GA4_LEAD_EVENT_NAME: the same as GA4_EVENT_NAME; a lead would count twice"
            )
        if problems:
            raise ConfigError(problems)
        return settings


def _read(env: Mapping[str, str], variable: Variable, default: object, problems: list[str]) -> Any:
    raw = env.get(variable.name, "").strip()
    if not raw:
        return default
    try:
        return variable.read(raw)
    except ValueError as error:
        problems.append(f"{variable.name}: {error}")
        return default


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


@dataclass(frozen=True)
class Variable:
    """One environment variable: the Settings field it sets, its reader, and what it means."""

    name: str
    field: str
    read: Callable[[str], Any]
    meaning: str
    # How the docs show the default when the field's value does not read well (e.g. `{}`).
    default_text: str | None = None
    # A secret's value is never shown: only whether it has a default.
    secret: bool = False


_V = Variable
VARIABLES: tuple[Variable, ...] = (
    _V("GOOGLE_CLOUD_PROJECT", "project_id", str, "project of the topics"),
    _V("PUBSUB_TOPIC", "topic", parse.resource_name, "topic call events are published to"),
    _V(
        "DEAD_LETTER_TOPIC",
        "dead_letter_topic",
        parse.resource_name,
        "topic for events that cannot be delivered",
    ),
    _V(
        "DEFAULT_PHONE_REGION",
        "default_phone_region",
        parse.region,
        "region for national-format numbers",
    ),
    _V(
        "UA_PROPERTY_ID",
        "ua_property_id",
        parse.ua_property,
        "`UA-…` property used when an event carries none",
    ),
    _V(
        "OWOX_ENDPOINT",
        "owox_endpoint",
        parse.owox_url,
        "OWOX BI access point base; hits go to `{OWOX_ENDPOINT}/{property id}?…`",
    ),
    _V("UA_COLLECT_URL", "ua_collect_url", parse.url, "Universal Analytics endpoint"),
    _V("GA4_COLLECT_URL", "ga4_collect_url", parse.url, "GA4 Measurement Protocol endpoint"),
    _V(
        "GA4_MEASUREMENT_ID",
        "ga4_measurement_id",
        parse.measurement_id,
        "GA4 stream (`G-…`) of calls that carry none",
    ),
    _V(
        "GA4_API_SECRET",
        "ga4_api_secret",
        str,
        "Measurement Protocol API secret of `GA4_MEASUREMENT_ID`'s stream",
        secret=True,
    ),
    _V(
        "GA4_API_SECRETS",
        "ga4_api_secrets",
        parse.ga4_secrets,
        "API secrets of further streams, for events carrying their own `measurement_id`: "
        "`G-AAA111=secret1,G-BBB222=secret2`",
        secret=True,
    ),
    _V("GA4_EVENT_NAME", "ga4_event_name", parse.ga4_event_name, "the GA4 event name"),
    _V(
        "GA4_LEAD_EVENT_NAME",
        "ga4_lead_event_name",
        parse.ga4_lead_event_name,
        "the extra GA4 event for a lead (an answered inbound first call, or a `lead_status` in "
        "`GA4_LEAD_STATUSES`); `off` sends none",
    ),
    _V(
        "GA4_LEAD_STATUSES",
        "ga4_lead_statuses",
        parse.lead_statuses,
        "platform lead statuses that make a call a lead (any case); `off` for none",
    ),
    _V(
        "GA4_NOT_LEAD_STATUSES",
        "ga4_not_lead_statuses",
        parse.lead_statuses,
        "platform lead statuses that make a later qualification `disqualify_lead` (any case; "
        "one in `GA4_LEAD_STATUSES` too is `qualify_lead`); `off` for none",
    ),
    _V(
        "GA4_CONSENT_DEFAULT",
        "ga4_consent_default",
        parse.consent_default,
        "GA4 consent for calls that carry none, e.g. "
        "`ad_user_data=DENIED,ad_personalization=DENIED`; unset sends no consent",
    ),
    _V(
        "OWOX_GA4_URL",
        "owox_ga4_url",
        parse.owox_url,
        "OWOX BI GA4 streaming URL (ends in `/mp`), for destination `owox_ga4`",
    ),
    _V("EVENT_CATEGORY", "event_category", parse.text(150), "event category (`ec`)"),
    _V(
        "EVENT_ACTIONS",
        "event_actions",
        parse.event_actions,
        "action (`ea`) per status, e.g. `answered=Answered call,missed=Missed call`",
        default_text="the status",
    ),
    _V(
        "EVENT_LABEL",
        "event_label",
        parse.label_template,
        "label (`el`) template over "
        + ", ".join(f"`{name}`" for name in sorted(parse.LABEL_FIELDS))
        + " (no phone can be named)",
    ),
    _V(
        "CUSTOM_PARAMETERS",
        "custom_parameters",
        parse.custom_parameters,
        "custom dimensions and metrics, e.g. `keyword=cd3,lead_status=cd4,value=cm1` (a `custom` "
        "field, or one of "
        + ", ".join(f"`{name}`" for name in sorted(parse.MAPPABLE_FIELDS))
        + "; a metric gets only numeric values, booleans as 1/0)",
    ),
    _V("DATA_SOURCE", "data_source", parse.text(100), "data source (`ds`)"),
    _V(
        "HTTP_USER_AGENT",
        "user_agent",
        parse.text(200),
        "User-Agent of hits (Google drops hits with library defaults)",
    ),
    _V(
        "HTTP_TIMEOUT_SECONDS",
        "http_timeout_s",
        parse.positive_float,
        "one send to a destination, in all (connect, send, read)",
    ),
    _V(
        "PUBLISH_TIMEOUT_SECONDS",
        "publish_timeout_s",
        parse.positive_float,
        "how long ingest waits for Pub/Sub's acknowledgement",
    ),
    _V("MAX_BODY_BYTES", "max_body_bytes", parse.positive_int, "largest webhook body"),
    _V(
        "PUBLIC_BASE_URL",
        "public_base_url",
        parse.base_url,
        "the public URL vendors call, for URL-signed schemes (Twilio); else the forwarded host "
        "and scheme",
    ),
    _V(
        "SOURCE_TIMEZONES",
        "source_timezones",
        parse.source_timezones,
        "zone of vendors' naive local times, e.g. `uis=Europe/Moscow,ringostat=Europe/Kyiv`",
        default_text="`UTC`",
    ),
    _V(
        "MISSING_CLIENT_ID",
        "missing_client_id",
        parse.client_id_policies,
        "what to do with an event without a client id: `synthesize` or `skip`, per destination "
        "as `ua=skip,owox=synthesize`",
        default_text="`synthesize`",
    ),
    _V(
        "DEDUP",
        "dedup",
        parse.dedup,
        "the delivery ledger (see [delivery.md](delivery.md#duplicates)): `firestore`, or `off` to "
        "send every copy of an event",
    ),
    _V(
        "FIRESTORE_DATABASE",
        "firestore_database",
        parse.database,
        "Firestore database of the ledger (`(default)` or a named database)",
    ),
    _V(
        "DELIVERIES_COLLECTION",
        "deliveries_collection",
        parse.collection,
        "collection of the ledger's documents",
    ),
    _V(
        "DELIVERY_LEASE_SECONDS",
        "delivery_lease_s",
        parse.positive_float,
        "how long a claim holds off other attempts; keep it above dispatch's request timeout and "
        "below Pub/Sub's minimum backoff (Terraform sets that timeout + 30)",
    ),
    _V(
        "LEDGER_TIMEOUT_SECONDS",
        "ledger_timeout_s",
        parse.positive_float,
        "how long dispatch waits for Firestore, retries included, before answering 503",
    ),
    _V(
        "SEND_SPAM",
        "send_spam",
        parse.flag,
        "`true` sends calls the platform marked as spam; by default dispatch acks them unsent and "
        "logs `skipped` with reason `spam`",
    ),
    _V(
        "GOOGLE_ADS_API_URL",
        "google_ads_api_url",
        parse.base_url,
        "Google Ads API base URL (the version is the code's: shared/hits/ads.py `API_VERSION`)",
    ),
    _V(
        "GOOGLE_ADS_TOKEN_URL",
        "google_ads_token_url",
        parse.url,
        "where the refresh token is exchanged for an access token",
    ),
    _V(
        "GOOGLE_ADS_CUSTOMER_ID",
        "google_ads_customer_id",
        parse.ads_customer_id,
        "the Google Ads account (ten digits, dashes allowed) that owns the conversion action; "
        "required by `google_ads`",
    ),
    _V(
        "GOOGLE_ADS_LOGIN_CUSTOMER_ID",
        "google_ads_login_customer_id",
        parse.ads_customer_id,
        "the manager account the credentials sign in through (sent as `login-customer-id`)",
    ),
    _V(
        "GOOGLE_ADS_CONVERSION_ACTION",
        "google_ads_conversion_action",
        parse.ads_conversion_action,
        'resource name `customers/<id>/conversionActions/<id>` of an import ("conversions from '
        'clicks") action; required by `google_ads`',
    ),
    _V(
        "GOOGLE_ADS_DEVELOPER_TOKEN",
        "google_ads_developer_token",
        str,
        "the API developer token (header `developer-token`)",
        secret=True,
    ),
    _V("GOOGLE_ADS_CLIENT_ID", "google_ads_client_id", str, "OAuth 2.0 client id"),
    _V(
        "GOOGLE_ADS_CLIENT_SECRET",
        "google_ads_client_secret",
        str,
        "OAuth 2.0 client secret",
        secret=True,
    ),
    _V(
        "GOOGLE_ADS_REFRESH_TOKEN",
        "google_ads_refresh_token",
        str,
        "OAuth 2.0 refresh token",
        secret=True,
    ),
    _V(
        "GOOGLE_ADS_MIN_TALK_SECONDS",
        "google_ads_min_talk_s",
        parse.non_negative_int,
        "an answered call converts from this much talk time (duration when the platform gives no "
        "talk time); `0`: any answered call",
    ),
    _V(
        "GOOGLE_ADS_REQUIRE",
        "google_ads_require",
        parse.ads_require,
        "also require `first_call` (the platform says so) and/or `lead` (a `lead_status` in "
        "`GA4_LEAD_STATUSES`), comma-separated",
    ),
    _V(
        "GOOGLE_ADS_DEFAULT_VALUE",
        "google_ads_default_value",
        parse.money,
        "value of calls that carry none; with no value at all, the conversion action's own "
        "default value counts",
    ),
    _V(
        "GOOGLE_ADS_DEFAULT_CURRENCY",
        "google_ads_default_currency",
        parse.currency,
        "ISO 4217 currency of calls that carry none",
    ),
    _V(
        "GOOGLE_ADS_TIMEZONE",
        "google_ads_timezone",
        parse.zone,
        "the offset `conversionDateTime` is written with (same instant either way)",
    ),
    _V(
        "GOOGLE_ADS_ENHANCED_CONVERSIONS",
        "google_ads_enhanced_conversions",
        parse.flag,
        "`true` adds the caller's hashed number when the call carries "
        "`consent_ad_user_data=GRANTED` (see "
        "[delivery.md](delivery.md#google-ads-calls-as-click-conversions))",
    ),
)


def variable_names() -> tuple[str, ...]:
    """Every environment variable name (and prefix) the functions read, for isolating tests."""
    return (*(v.name for v in VARIABLES), SECRET_PREFIX, *EMULATOR_VARIABLES)
