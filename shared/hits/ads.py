"""Google Ads click conversions: which calls convert, and each as the REST API's JSON.

Field names are the REST (proto3 JSON) names of `ClickConversion` in the Google Ads API
(google/ads/googleads/v26/services/conversion_upload_service.proto); they appear only here.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any, Final, NamedTuple

from shared.errors import ConversionRejected, HitRejected, NoClickId, NotQualified
from shared.events import CallEvent, CallStatus
from shared.phones import to_e164
from shared.settings import Settings

# The version of the API the body and the paths are written for (the latest in the official
# `google-ads` library 34.0.0: v23-v26).
API_VERSION: Final = "v26"
# The click ids a conversion may name, in the order we prefer them: exactly one is sent.
CLICK_ID_FIELDS: Final = ("gclid", "wbraid", "gbraid")
# "yyyy-mm-dd hh:mm:ss+|-hh:mm", as ClickConversion.conversion_date_time documents it.
DATE_TIME_FORMAT: Final = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")
CONVERSION_ACTION: Final = re.compile(r"customers/\d{10}/conversionActions/\d{1,19}")
SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")
CURRENCY: Final = re.compile(r"[A-Z]{3}")
# Click ids are URL parameter values Google makes up of letters, digits, `-` and `_` (not
# published as a format: this is what every example shows; the API has the last word).
CLICK_ID: Final = re.compile(r"[A-Za-z0-9_\-]{1,512}")


def click_id(event: CallEvent) -> tuple[str, str] | None:
    """The (field, value) of the click id to send: gclid, else wbraid, else gbraid."""
    for name in CLICK_ID_FIELDS:
        value = getattr(event, name)
        if value:
            return name, value
    return None


def skip_reason(event: CallEvent, settings: Settings) -> NoClickId | NotQualified | None:
    """Why the call is no conversion (returned, not raised), or None when it converts."""
    if event.is_qualification:
        # The call converted (or not) when it was reported; uploading it again under the same
        # action would be a second conversion for one call.
        return NotQualified("a later lead qualification, not a call; Google Ads takes calls only")
    if click_id(event) is None:
        return NoClickId("no gclid, gbraid or wbraid")
    if event.status is not CallStatus.ANSWERED:
        return NotQualified(f"status {event.status.value}, not answered")
    talk_s = event.talk_s if event.talk_s is not None else event.duration_s
    minimum = settings.google_ads_min_talk_s
    if minimum and (talk_s is None or talk_s < minimum):
        talked = "unknown" if talk_s is None else f"{talk_s} s"
        return NotQualified(f"talk time {talked}, under GOOGLE_ADS_MIN_TALK_SECONDS={minimum}")
    if "first_call" in settings.google_ads_require and event.first_call is not True:
        return NotQualified("not the caller's first call (GOOGLE_ADS_REQUIRE=first_call)")
    if "lead" in settings.google_ads_require and not _is_lead(event, settings):
        return NotQualified("no lead_status in GA4_LEAD_STATUSES (GOOGLE_ADS_REQUIRE=lead)")
    return None


def _is_lead(event: CallEvent, settings: Settings) -> bool:
    status = event.lead_status
    return status is not None and status.lower() in settings.ga4_lead_statuses


def conversion_date_time(moment: datetime, zone: tzinfo) -> str:
    """`yyyy-mm-dd hh:mm:ss+hh:mm` in `zone`, seconds truncated as the format has no fraction."""
    local = moment.astimezone(zone)
    offset = local.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{local:%Y-%m-%d %H:%M:%S}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def hashed_phone_number(phone: str, region: str = "US") -> str:
    """Lowercase hex SHA-256 of the number in E.164 (`+` and digits), as Google hashes phones."""
    return hashlib.sha256(to_e164(phone, region).encode()).hexdigest()


def order_id(event: CallEvent) -> str:
    """One id per call: Google refuses a second conversion with the same order id per action.

    A hash of source and event id (the ledger's key), so no sender text (which might hold a
    phone number) reaches Google and the length is fixed.
    """
    key = f"{event.source}\x1f{event.event_id}".encode()
    return "call_" + hashlib.sha256(key).hexdigest()[:32]


def build_click_conversion(event: CallEvent, settings: Settings) -> dict[str, Any]:
    """The REST JSON of one ClickConversion for a qualifying call.

    Raises NoClickId / NotQualified for a call that is no conversion, HitRejected when
    GOOGLE_ADS_CONVERSION_ACTION is not set, ConversionRejected when a field breaks the API's
    rules.
    """
    skipped = skip_reason(event, settings)
    if skipped is not None:
        raise skipped
    action = settings.google_ads_conversion_action
    if not action:
        raise HitRejected("no Google Ads conversion action: set GOOGLE_ADS_CONVERSION_ACTION")
    name, value = click_id(event) or ("", "")
    conversion: dict[str, Any] = {
        name: value,
        "conversionAction": action,
        "conversionDateTime": conversion_date_time(event.started_at, settings.google_ads_timezone),
        "orderId": order_id(event),
    }
    conversion.update(_value(event, settings))
    if event.consent_ad_user_data:
        conversion["consent"] = {"adUserData": event.consent_ad_user_data}
    if (
        settings.google_ads_enhanced_conversions
        and event.consent_ad_user_data == "GRANTED"
        and event.caller
    ):
        conversion["userIdentifiers"] = [
            {
                "userIdentifierSource": "FIRST_PARTY",
                "hashedPhoneNumber": hashed_phone_number(event.caller),
            }
        ]
    problems = conversion_problems(conversion)
    if problems:
        raise ConversionRejected("; ".join(str(problem) for problem in problems))
    return conversion


def _value(event: CallEvent, settings: Settings) -> dict[str, Any]:
    # The call's own value in its currency; else the configured default; else none, and Google
    # Ads counts the conversion action's default value.
    if event.value is not None:
        currency = event.currency or settings.google_ads_default_currency
        return {"conversionValue": event.value, **({"currencyCode": currency} if currency else {})}
    if settings.google_ads_default_value is not None:
        currency = settings.google_ads_default_currency
        return {
            "conversionValue": settings.google_ads_default_value,
            **({"currencyCode": currency} if currency else {}),
        }
    return {}


def upload_body(conversions: list[dict[str, Any]], validate_only: bool = False) -> dict[str, Any]:
    """The UploadClickConversionsRequest body; the customer id travels in the path."""
    body: dict[str, Any] = {"conversions": conversions, "partialFailure": True}
    if validate_only:
        body["validateOnly"] = True
    return body


class Problem(NamedTuple):
    """A rule the conversion breaks, named as the API's error would name it."""

    family: str  # the ErrorCode field: conversionUploadError, dateError, …
    code: str  # the enum value: UNPARSEABLE_GCLID, …
    field: str

    def __str__(self) -> str:
        return f"{self.family} {self.code} {self.field}"


def conversion_problems(conversion: Mapping[str, Any]) -> list[Problem]:
    """The API's rules that can be checked here, each broken one with the closest error code
    in the API's enums (ConversionUploadError, DateError, RequestError, FieldError)."""
    problems: list[Problem] = []
    ids = [name for name in CLICK_ID_FIELDS if conversion.get(name)]
    if not ids:
        problems.append(Problem("fieldError", "REQUIRED", "gclid"))
    elif len(ids) > 1:
        problems.append(Problem("conversionUploadError", "GBRAID_WBRAID_BOTH_SET", ids[1]))
    for name in ids:
        if not isinstance(conversion[name], str) or not CLICK_ID.fullmatch(conversion[name]):
            problems.append(Problem("conversionUploadError", f"UNPARSEABLE_{name.upper()}", name))
    if not CONVERSION_ACTION.fullmatch(str(conversion.get("conversionAction", ""))):
        problems.append(Problem("requestError", "RESOURCE_NAME_MALFORMED", "conversionAction"))
    if not DATE_TIME_FORMAT.fullmatch(str(conversion.get("conversionDateTime", ""))):
        code = "INVALID_STRING_DATE_TIME_SECONDS_WITH_OFFSET"
        problems.append(Problem("dateError", code, "conversionDateTime"))
    if "conversionValue" in conversion and not _valid_value(conversion["conversionValue"]):
        problems.append(Problem("fieldError", "INVALID_VALUE", "conversionValue"))
    if "currencyCode" in conversion and not CURRENCY.fullmatch(str(conversion["currencyCode"])):
        problems.append(Problem("fieldError", "INVALID_VALUE", "currencyCode"))
    identifiers = conversion.get("userIdentifiers", [])
    for identifier in identifiers if isinstance(identifiers, list) else [None]:
        hashed = identifier.get("hashedPhoneNumber") if isinstance(identifier, Mapping) else None
        if not isinstance(hashed, str) or not SHA256_HEX.fullmatch(hashed):
            problems.append(
                Problem("conversionUploadError", "INVALID_USER_IDENTIFIER", "userIdentifiers")
            )
    return problems


def _valid_value(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and value >= 0
