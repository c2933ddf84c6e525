"""Vendor field quirks to canonical values: numbers and booleans as strings, local times, ids."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any

from shared.errors import BadPayload
from shared.phones import is_phone

# What vendors put in a number field when the caller hid it; the call still counts.
_WITHHELD = frozenset(
    {"anonymous", "restricted", "private", "unknown", "unavailable", "withheld", "hidden"}
)
_TRUE = frozenset({"true", "1", "yes", "y", "t", "on"})
_FALSE = frozenset({"false", "0", "no", "n", "f", "off"})
_LOCAL_FORMATS = ("%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M")
_CUSTOM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
_CUSTOM_TEXT_MAX = 500
# Unix times above this are milliseconds (1e11 s is the year 5138).
_MILLISECONDS_FROM = 10**11
_LARGEST_WHOLE = 2**53
_EARLIEST_YEAR = 1970
_LATEST_YEAR = 2999


def first(fields: Mapping[str, Any], *names: str) -> Any:
    """The value of the first name present with a non-empty value, else None."""
    for name in names:
        value = fields.get(name)
        if value is not None and value != "":
            return value
    return None


def text(value: Any, name: str) -> str | None:
    """A string field (numbers accepted, as vendors mix them); raises BadPayload otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadPayload(f"{name}: expected a string", field=name)
    result = str(value).strip()
    return result or None


# Attribution fields vendors send under our own names (their UTM capture, or our template).
ATTRIBUTION_FIELDS = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "gclid",
    "gbraid",
    "wbraid",
)


def attribution(call: Mapping[str, Any]) -> dict[str, str | None]:
    """The utm_* and click id values of a vendor payload, as text; raises BadPayload otherwise."""
    return {name: text(call.get(name), name) for name in ATTRIBUTION_FIELDS}


def integer(value: Any, name: str) -> int | None:
    """Whole seconds from an int, an integral float or a string of digits ("187")."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadPayload(f"{name}: expected a whole number", field=name)
    if isinstance(value, int):
        # A 400-digit "number" is no time or duration; past 2**53 a float cannot even hold it.
        if abs(value) > _LARGEST_WHOLE:
            raise BadPayload(f"{name}: number out of range", field=name)
        return value
    try:
        number = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise BadPayload(f"{name}: expected a whole number", field=name) from None
    if not math.isfinite(number) or number != int(number):
        raise BadPayload(f"{name}: expected a whole number", field=name)
    return int(number)


def boolean(value: Any, name: str) -> bool | None:
    """A boolean sent as true/false, "true"/"false", 1/0; None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower() if isinstance(value, str | int) else ""
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise BadPayload(f"{name}: expected true or false", field=name)


def instant(value: Any, name: str, zone: tzinfo) -> datetime | None:
    """A point in time from ISO 8601, RFC 2822, Unix seconds or milliseconds, or a local
    `YYYY-MM-DD hh:mm:ss`; times without an offset are read in `zone`. Raises BadPayload.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadPayload(f"{name}: expected a date and time", field=name)
    if isinstance(value, int | float) or (isinstance(value, str) and _is_number(value)):
        return _from_unix(value, name)
    if not isinstance(value, str):
        raise BadPayload(f"{name}: expected a date and time", field=name)
    moment = _parse_text(value.strip())
    if moment is None:
        raise BadPayload(f"{name}: not a date and time this source understands", field=name)
    # Far-off years overflow when moved to UTC; no call happened before Unix time anyway.
    if not _EARLIEST_YEAR <= moment.year <= _LATEST_YEAR:
        raise BadPayload(f"{name}: year out of range", field=name)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def caller_phone(value: Any, name: str) -> str | None:
    """The customer's number as sent, for the event model to normalise; None when withheld."""
    number = text(value, name)
    if number is None or number.lower() in _WITHHELD:
        return None
    return number


def line_phone(value: Any, region: str) -> str | None:
    """Our own line's number as sent, or None when it is an extension, SIP or client address.

    Only the event model normalises it to E.164, as it does the caller's.
    """
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    number = str(value)
    return number if is_phone(number, region) else None


def client_id(value: Any) -> str | None:
    """A GA client id or `_ga` cookie value (the event model keeps its last two parts)."""
    return value.strip() or None if isinstance(value, str) else None


def custom(fields: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, str | int | float]:
    """Vendor fields a user may map to custom dimensions: `names` maps vendor → custom name."""
    chosen: dict[str, str | int | float] = {}
    for vendor_name, custom_name in names.items():
        value = fields.get(vendor_name)
        if not _CUSTOM_NAME.fullmatch(custom_name) or value is None or value == "":
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            chosen[custom_name] = value
        elif isinstance(value, str | bool):
            chosen[custom_name] = str(value).strip()[:_CUSTOM_TEXT_MAX]
    return {key: value for key, value in chosen.items() if value != ""}


def _is_number(value: str) -> bool:
    return re.fullmatch(r"\s*\d{9,14}(\.\d+)?\s*", value) is not None


def _from_unix(value: int | float | str, name: str) -> datetime:
    try:
        seconds = float(value)
    except OverflowError:  # an int too large for a float
        raise BadPayload(f"{name}: not a Unix time", field=name) from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise BadPayload(f"{name}: not a Unix time", field=name)
    if seconds >= _MILLISECONDS_FROM:
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise BadPayload(f"{name}: not a Unix time", field=name) from None


def _parse_text(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        pass
    for pattern in _LOCAL_FORMATS:
        try:
            return datetime.strptime(value, pattern)
        except ValueError:
            continue
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
