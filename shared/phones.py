"""Phone numbers to E.164, the only form the pipeline stores and sends."""

from __future__ import annotations

import phonenumbers

# E.164 allows at most 15 digits; fewer than 8 is never a reachable subscriber number.
_MIN_DIGITS = 8
_MAX_DIGITS = 15


def to_e164(raw: str, default_region: str) -> str:
    """Normalise a phone number as a vendor sent it to E.164 (`+12015550111`).

    Digit-only international numbers (`442079460123`) get their `+` back when they are not
    valid in `default_region`. Raises ValueError for anything that is not a possible number.
    """
    text = raw.strip()
    if not text:
        raise ValueError("empty phone number")
    number = _parse(text, default_region)
    if number is None and text.isdigit():
        number = _parse("+" + text, default_region)
    if number is None:
        raise ValueError("not a phone number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not _MIN_DIGITS <= len(e164) - 1 <= _MAX_DIGITS:
        raise ValueError("phone number length outside E.164")
    return e164


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_possible_number(number) else None
