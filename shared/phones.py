"""Phone numbers to E.164, the only form the pipeline stores and sends."""

from __future__ import annotations

import functools
import re

import phonenumbers

# E.164 allows at most 15 digits; fewer than 8 is never a reachable subscriber number.
_MIN_DIGITS = 8
_MAX_DIGITS = 15
# Already E.164: the default region cannot change how it parses, so one cache entry serves all.
_E164_SHAPE = re.compile(rf"\+[1-9][0-9]{{{_MIN_DIGITS - 1},{_MAX_DIGITS - 1}}}")
# Tracking numbers and repeat callers recur on every call: a bounded cache (a few hundred kB
# at most) spares libphonenumber's parse, ~20-60 µs per number, for all but the first sighting.
_CACHE_SIZE = 4096


def to_e164(raw: str, default_region: str) -> str:
    """Normalise a phone number as a vendor sent it to E.164 (`+12015550111`).

    Digit-only international numbers (`442079460123`) get their `+` back when they are not
    valid in `default_region`. Raises ValueError for anything that is not a possible number.
    """
    text = raw.strip()
    if not text:
        raise ValueError("empty phone number")
    region = "" if _E164_SHAPE.fullmatch(text) else default_region
    e164, problem = _normalised(text, region)
    if problem:
        raise ValueError(problem)
    return e164


def is_phone(raw: str, default_region: str) -> bool:
    """True when `to_e164` takes `raw`: a check that shares its cache and keeps no result."""
    text = raw.strip()
    region = "" if _E164_SHAPE.fullmatch(text) else default_region
    return bool(text) and not _normalised(text, region)[1]


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _normalised(text: str, region: str) -> tuple[str, str]:
    """(E.164, "") or ("", why not): a rejection is cached as a value, not an exception."""
    number = _parse(text, region or None)
    if number is None and text.isdigit():
        number = _parse("+" + text, region or None)
    if number is None:
        return "", "not a phone number"
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not _MIN_DIGITS <= len(e164) - 1 <= _MAX_DIGITS:
        return "", "phone number length outside E.164"
    return e164, ""


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_possible_number(number) else None
