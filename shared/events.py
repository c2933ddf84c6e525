"""The call event: the versioned contract between ingest and dispatch, and its JSON Schema."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from shared.errors import BadPayload, position_label
from shared.phones import to_e164

SCHEMA_VERSION: Literal[1] = 1

# A `_ga` cookie value: GA1.<domain depth>.<random>.<first visit seconds>; GA keeps the last two.
_GA_COOKIE = re.compile(r"^GA\d+\.\d+(?:-\d+)?\.(\d+\.\d+)$", re.IGNORECASE)

# A GA4 session id: the session's start in Unix seconds, as gtag.js reports it.
_SESSION_ID = re.compile(r"^\d{1,20}$")
# A `_ga_<container id>` cookie value. GS1: GS1.<domain depth>.<session id>.<session number>.…
# GS2 (rolled out from May 2025): GS2.<domain depth>.s<session id>$o<session number>$g…$t…,
# `$`-separated fields named by their first letter, in no guaranteed order.
_GS1_COOKIE = re.compile(r"^GS1\.\d+(?:-\d+)?\.(\d{1,20})\.", re.IGNORECASE)
_GS2_COOKIE = re.compile(r"^GS2\.\d+(?:-\d+)?\.(.+)$", re.IGNORECASE)

_NEEDS_LEAD_STATUS = "a qualification needs lead_status"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
# Finite only: JSON has no infinity, so `1e400` would be published as null and never decode.
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
CustomValue = Annotated[str, StringConstraints(max_length=500)] | int | FiniteFloat | bool
# ISO 4217 alphabetic code, as GA4's `currency` and Google Ads' `currency_code` take it.
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
# GA4 Measurement Protocol consent values (the body's `consent.ad_user_data` and
# `consent.ad_personalization`).
Consent = Literal["GRANTED", "DENIED"]
# A call's value in its currency: finite and non-negative (JSON has no NaN or infinity).
Money = Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]


class CallStatus(StrEnum):
    """How the call ended."""

    ANSWERED = "answered"
    MISSED = "missed"
    BUSY = "busy"
    FAILED = "failed"
    VOICEMAIL = "voicemail"


class EventKind(StrEnum):
    """What the event reports: the call itself, or a later lead qualification of it."""

    CALL = "call"
    QUALIFICATION = "qualification"


class Direction(StrEnum):
    """Who dialled whom, seen from the business."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


def derive_event_id(source: str, call_id: str) -> str:
    """A stable id for (source, call id): one real call is one event, however often reported.

    The status is not part of it: a platform that reports one call in several requests (legs,
    stages, a "call ended" and a "lost call" notification) yields one id, so the delivery
    ledger treats every later report of the same call as a duplicate.
    """
    return _hashed_id(source.strip().lower(), call_id.strip())


def derive_qualification_id(source: str, call_id: str, lead_status: str) -> str:
    """A stable id for one lead status given to one call: never the call's own id, so the
    ledger does not drop the qualification as a copy of the call, and the same for a repeat of
    the same qualification (a platform's retry), so the ledger drops that one.
    """
    return _hashed_id(
        source.strip().lower(), call_id.strip(), "lead_status", lead_status.strip().lower()
    )


def _hashed_id(*parts: str) -> str:
    return "ev_" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def client_id_from(value: str) -> str:
    """Accept a GA client id (`X.Y`) or a `_ga` cookie value (`GA1.2.X.Y`) and return `X.Y`."""
    text = value.strip()
    match = _GA_COOKIE.match(text)
    return match.group(1) if match else text


def session_id_from(value: str) -> str:
    """Accept a GA4 session id or a `_ga_<container id>` cookie value (GS1 or GS2 format) and
    return the session id. Raises ValueError for anything else, naming the accepted forms.
    """
    text = value.strip()
    if _SESSION_ID.fullmatch(text):
        return text
    gs1 = _GS1_COOKIE.match(text)
    if gs1:
        return gs1.group(1)
    gs2 = _GS2_COOKIE.match(text)
    for field in gs2.group(1).split("$") if gs2 else ():
        if field[:1] in ("s", "S") and _SESSION_ID.fullmatch(field[1:]):
            return field[1:]
    raise ValueError(
        "expected a GA4 session id (digits) or a _ga_<container id> cookie value "
        "(GS1.1.<session>.… or GS2.1.s<session>$…)"
    )


class CallEvent(BaseModel):
    """One call outcome, as every destination sees it. Phones are E.164; times are UTC."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: Annotated[
        str,
        StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,128}$"),
        Field(
            description=(
                "Unique per call and stable across retries; derived from source and call_id "
                "when the sender gives none, so a second report of the same call is a duplicate."
            )
        ),
    ]
    source: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
    kind: EventKind = Field(
        default=EventKind.CALL,
        description=(
            "`call` (the default): the call's outcome. `qualification`: a later lead status of "
            "a call already reported (same `call_id`), sent to GA4 as `qualify_lead` or "
            "`disqualify_lead` and skipped by destinations that take calls only; it needs "
            "`lead_status` and `qualified_at`, and its derived event_id comes from source, "
            "call_id and lead_status, so it is never a duplicate of the call."
        ),
    )
    call_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
    status: CallStatus
    direction: Direction = Direction.INBOUND
    started_at: datetime = Field(description="Call start, RFC 3339 with an offset; stored in UTC.")
    qualified_at: datetime | None = Field(
        default=None,
        description=(
            "For kind `qualification` only: when the platform reported the lead status, RFC "
            "3339 with an offset; the qualification is dated then, not at the call's start."
        ),
    )
    duration_s: Annotated[int, Field(ge=0, le=7 * 24 * 3600)] | None = None
    talk_s: Annotated[int, Field(ge=0, le=7 * 24 * 3600)] | None = None
    caller: str | None = Field(default=None, description="The customer's number, E.164 (PII).")
    tracking_number: str | None = Field(default=None, description="The number dialled (PII).")
    property_id: Annotated[str, StringConstraints(pattern=r"^(?i:UA)-\d{4,10}-\d{1,4}$")] | None = (
        None
    )
    measurement_id: Annotated[str, StringConstraints(pattern=r"^G-[A-Z0-9]{4,20}$")] | None = None
    client_id: ShortText | None = Field(
        default=None, description="GA client id; a `_ga` cookie value is accepted."
    )
    user_id: ShortText | None = None
    session_id: ShortText | None = Field(
        default=None,
        description="GA4 session id; a `_ga_<container id>` cookie value (GS1 or GS2) is accepted.",
    )
    utm_source: Text | None = None
    utm_medium: Text | None = None
    utm_campaign: Text | None = None
    utm_term: Text | None = None
    utm_content: Text | None = None
    gclid: Text | None = None
    # Google's click ids for iOS traffic under App Tracking Transparency: web-to-app and web.
    gbraid: Text | None = None
    wbraid: Text | None = None
    dclid: Text | None = None
    landing_page: Text | None = None
    referrer: Text | None = None
    ip: ShortText | None = None
    user_agent: Text | None = None
    # Lead signals, as the platform reports them (None: the platform did not say).
    first_call: bool | None = Field(
        default=None, description="The caller's first call to this business."
    )
    spam: bool | None = Field(
        default=None, description="The platform marked the call as spam (not sent by default)."
    )
    lead_status: ShortText | None = Field(
        default=None, description="The platform's lead qualification, e.g. `good_lead`."
    )
    value: Money | None = Field(default=None, description="The call's value, in `currency`.")
    currency: Currency | None = Field(default=None, description="ISO 4217 code of `value`.")
    recording_available: bool | None = Field(
        default=None, description="The platform recorded the call (the recording never travels)."
    )
    # The visitor's consent as the site recorded it, for GA4's `consent` object.
    consent_ad_user_data: Consent | None = Field(
        default=None,
        description="GA4 consent to send user data to Google for ads: GRANTED or DENIED.",
    )
    consent_ad_personalization: Consent | None = Field(
        default=None, description="GA4 consent to ad personalization: GRANTED or DENIED."
    )
    custom: dict[
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,39}$")], CustomValue
    ] = Field(default_factory=dict, max_length=50)

    @model_validator(mode="before")
    @classmethod
    def _prepare(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        # Vendors send "" for "unknown"; absent and empty mean the same to every destination.
        data = {key: value for key, value in data.items() if value != ""}
        if not data.get("event_id"):
            event_id = _derived_event_id(data)
            if event_id:
                data["event_id"] = event_id
        return data

    @model_validator(mode="after")
    def _qualification_complete(self) -> CallEvent:
        if self.kind is EventKind.QUALIFICATION:
            if self.lead_status is None:
                raise ValueError(_NEEDS_LEAD_STATUS)
            if self.qualified_at is None:
                raise ValueError("a qualification needs qualified_at")
        elif self.qualified_at is not None:
            raise ValueError("qualified_at is for kind qualification only")
        return self

    @field_validator("caller", "tracking_number", mode="before")
    @classmethod
    def _normalise_phone(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        if not isinstance(value, str | int):
            raise ValueError("a phone number must be a string")
        region = (info.context or {}).get("default_region", "US")
        return to_e164(str(value), region)

    @field_validator("client_id", mode="before")
    @classmethod
    def _client_id_from_cookie(cls, value: Any) -> Any:
        return client_id_from(value) if isinstance(value, str) else value

    @field_validator("session_id", mode="before")
    @classmethod
    def _session_id_from_cookie(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return session_id_from(value) if isinstance(value, str) and value.strip() else value

    @field_validator("consent_ad_user_data", "consent_ad_personalization", mode="before")
    @classmethod
    def _consent_in_capitals(cls, value: Any) -> Any:
        # Consent-mode tags write `granted`/`denied`; the Measurement Protocol wants capitals.
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("started_at", "qualified_at")
    @classmethod
    def _aware_utc(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{info.field_name} needs a time zone offset (RFC 3339)")
        try:
            return value.astimezone(UTC)
        except OverflowError:
            # Year 1 at a positive offset falls before datetime's range once made UTC.
            raise ValueError(f"{info.field_name} is out of range") from None

    @field_serializer("started_at", "qualified_at")
    def _rfc3339(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    @property
    def is_qualification(self) -> bool:
        """A later lead qualification of a call already reported, not a call."""
        return self.kind is EventKind.QUALIFICATION

    @property
    def occurred_at(self) -> datetime:
        """When what the event reports happened: the qualification's time, else the call's start."""
        return self.qualified_at if self.qualified_at is not None else self.started_at

    @property
    def call_event_id(self) -> str:
        """The event id of the call itself: a qualification points at its call's derived id."""
        if self.is_qualification:
            return derive_event_id(self.source, self.call_id)
        return self.event_id

    @property
    def phones(self) -> tuple[str, ...]:
        """Every phone number the event carries, for the PII guard."""
        return tuple(phone for phone in (self.caller, self.tracking_number) if phone)


def parse_event(data: Any, default_region: str) -> CallEvent:
    """Validate one call event from decoded JSON; raises BadPayload naming the first bad field."""
    try:
        return CallEvent.model_validate(data, context={"default_region": default_region})
    except ValidationError as error:
        raise _bad_payload(error, data) from None


def event_from_json(raw: bytes | str) -> CallEvent:
    """Decode an event as ingest published it; raises BadPayload if it is not one."""
    try:
        # Published events are already normalised: E.164 parses in any region.
        return CallEvent.model_validate_json(raw, context={"default_region": "US"})
    except ValidationError as error:
        raise _bad_payload(error) from None


def event_to_json(event: CallEvent) -> bytes:
    """Encode an event for Pub/Sub, dropping absent fields to keep messages small."""
    # A call's kind is the default: leaving it out keeps call messages as they always were,
    # so a dispatch still on the previous version reads them.
    exclude = {"kind"} if event.kind is EventKind.CALL else None
    return event.model_dump_json(exclude_none=True, exclude=exclude).encode()


def _derived_event_id(data: dict[str, Any]) -> str | None:
    """The event id a sender left out: per call, or per (call, lead status) for a
    qualification; None when the fields it comes from are missing (validation names them).
    """
    source, call_id = _id_part(data.get("source")), _id_part(data.get("call_id"))
    if source is None or call_id is None:
        return None
    if data.get("kind") != EventKind.QUALIFICATION:
        return derive_event_id(source, call_id)
    lead_status = data.get("lead_status")
    if not isinstance(lead_status, str) or not lead_status.strip():
        # Said here, or the sender would read "event_id: Field required" instead.
        raise ValueError(_NEEDS_LEAD_STATUS)
    return derive_qualification_id(source, call_id, lead_status)


def _id_part(value: Any) -> str | None:
    """A field an event id is derived from, as text; None when absent, blank or not scalar."""
    if not isinstance(value, str | int):
        return None
    text = str(value)
    return text if text.strip() else None


def call_event_json_schema() -> dict[str, Any]:
    """The JSON Schema of one call event, as the generic webhook's public contract."""
    schema = CallEvent.model_json_schema(mode="validation")
    # A sender may leave event_id out: `_prepare` derives it, so it is not required on the wire.
    schema["required"] = [name for name in schema["required"] if name != "event_id"]
    return schema


def _bad_payload(error: ValidationError, data: Any = None) -> BadPayload:
    errors = error.errors(include_url=False, include_input=False)
    # A union reports every member's complaint; a non-finite number is the one that explains.
    first = next((e for e in errors if e["type"] == "finite_number"), errors[0])
    parts = _location(first["loc"], first["type"], data)
    field = ".".join(parts) or None
    # Pydantic's message never echoes the input value, so no phone number reaches a response.
    return BadPayload(f"{field or 'body'}: {first['msg']}", field=field)


# Tags pydantic appends to a location for the member of a union or a dict key; not fields.
_UNION_TAGS = frozenset({"constrained-str", "str", "int", "float", "bool", "[key]"})


def _location(loc: tuple[int | str, ...], kind: str, data: Any) -> list[str]:
    """The error's location, with a sender-chosen key that could be PII named by its position.

    Keys of `custom` and unknown keys are the sender's text, a phone number included.
    """
    parts = [str(part) for part in loc]
    if len(parts) > 1 and parts[0] == "custom":
        custom = data.get("custom") if isinstance(data, dict) else None
        parts = ["custom", position_label(parts[1], custom), *parts[2:]]
    elif parts and kind == "extra_forbidden":
        label = position_label(parts[-1], data)
        parts[-1] = label if label == parts[-1] else f"(unknown field {label})"
    return [part for part in parts if part not in _UNION_TAGS]
