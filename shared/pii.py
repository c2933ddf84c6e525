"""The PII guard: finds phone numbers and e-mail addresses in hit parameters (names only)."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from typing import Final
from urllib.parse import unquote, unquote_plus

import phonenumbers

# Parameter names that are personal data whatever their value: OWOX BI's `tel`/`email`, and
# the GA4 user-provided-data fields (hashed or not), which this system never sends to Google.
PII_NAMES: Final = frozenset(
    {
        "tel",
        "email",
        "phone",
        "phone_number",
        "email_address",
        "sha256_phone_number",
        "sha256_email_address",
        # Google Ads user identifiers (REST and proto names; compared in lower case).
        "hashedphonenumber",
        "hashed_phone_number",
        "hashedemail",
        "hashed_email",
    }
)
# The one exception: Google Ads enhanced conversions for leads take the caller's number as its
# SHA-256 hex digest in `hashedPhoneNumber`, on the `google_ads` destination and nowhere else.
HASHED_PHONE_DESTINATIONS: Final = frozenset({"google_ads"})
_HASHED_PHONE_NAMES: Final = frozenset({"hashedphonenumber", "hashed_phone_number"})
_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")

# Known phones are matched as digit runs. A needle of 10+ digits is searched anywhere in the
# value's digits (a chance match is ~1e-9 per hit). Shorter ones (7-9 digit national numbers of
# small countries) would match ids by chance ("UA-12345678-1" holds 2345678), so they must end a
# phone-like run of digits and separators, after at most a 4-digit prefix ("00", "+673", "0").
# Needles under 7 digits are not searched at all; the international form still is.
_MIN_NEEDLE: Final = 7
_ANYWHERE_NEEDLE: Final = 10
_MAX_PREFIX: Final = 4
_RUN_RE: Final = re.compile(r"[0-9](?:[\s\-./()_+\u00b7]{0,3}[0-9])*")
_MAX_DECODE_ROUNDS: Final = 5

_SEP = r"[ \t\u00a0.\-()]"
# `+`, a non-zero digit, then 7-14 more digits, up to two separators between digits. Not after a
# letter or digit: `+` inside base64 ids and "a+b" text must not start a number.
_E164_RE: Final = re.compile(rf"(?<![0-9A-Za-z])\+[1-9](?:{_SEP}{{0,2}}[0-9]){{7,14}}(?![0-9])")
# Digit groups (or a bracketed group) joined by 1-3 of space, dot, dash. It must not touch a
# letter/digit, start right after "<digit>." or "<digit>-" (the tail of a version such as
# "10.0.19045.3693"), nor be followed by a dot/dash and a letter/digit: that keeps the middle
# groups of UUIDs ("…-1234-4234-8234-…") out, while "Call 201 555 0111 now" matches.
_GROUP = r"(?:\([0-9]{1,5}\)|[0-9]{1,8})"
_FORMATTED_RE: Final = re.compile(
    rf"(?<![0-9A-Za-z_])(?<![0-9][.\-]){_GROUP}(?:[ .\-]{{1,3}}{_GROUP})+"
    r"(?![0-9A-Za-z_])(?![.\-][0-9A-Za-z_])"
)
_DIGITS_RE: Final = re.compile(r"[0-9]+")
_DATE_RE: Final = re.compile(
    r"(?:^|[^0-9])(?:[0-9]{4}([-./])[0-9]{1,2}\1[0-9]{1,2}|[0-9]{1,2}([-./])[0-9]{1,2}\2[0-9]{4})"
    r"(?:[^0-9]|$)"
)
_IPV4_RE: Final = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
# Internationalised addresses too (RFC 6531): `\w` is Unicode, so "josé@b.co" and
# "jose@münchen.de" match, as do their ASCII forms and punycode domains.
_EMAIL_RE: Final = re.compile(
    r"[\w!#$%&'*+/=?^`{|}~.\-]+@[^\W_](?:[\w\-]*[^\W_])?(?:\.[^\W_](?:[\w\-]*[^\W_])?)*"
    r"\.[^\W\d_]{2,63}"
)
_NON_DIGITS_RE: Final = re.compile(r"[^0-9]+")


def find_pii(
    values: Mapping[str, object] | Iterable[tuple[str, str]],
    known_phones: Iterable[str] = (),
    destination: str = "",
) -> list[str]:
    """Names (dotted paths such as `events[0].params.call_label`) of parameters carrying PII.

    Caught, in names and values, raw and URL-decoded (repeatedly, so double encoding does not
    hide anything): the known phones in any formatting (their international, national and
    national-with-trunk-prefix digit runs, whatever separators sit between the digits; 10+
    digit forms even inside longer digit runs, 7-9 digit ones at the end of a phone-like run
    with at most a 4-digit prefix); any `+` number of 8-15 digits not glued to a preceding
    letter or digit; formatted national numbers of 10-15 digits in groups joined by spaces,
    dots or dashes, at least three groups or a bracketed area code ("(201) 555-0111",
    "201.555.0111", "020 7946 0018"); e-mail addresses; parameters named like PII (`tel`, `email`).

    Not caught unless the phone is known: bare digit runs ("2015550111" or "tel12015550111"),
    which cannot be told from timestamps and ids; two-group formats ("030 12345678");
    numbers glued to a letter or followed by "-word"; numbers spelled in words, base64 or
    hashes. Never flagged: cid "1760224793.1424413995", gclids, UUIDs, IPv4/IPv6 addresses,
    ISO timestamps and dates, browser version strings, plain integers; and, for a destination
    in HASHED_PHONE_DESTINATIONS only, a `hashedPhoneNumber` holding a SHA-256 hex digest.
    """
    phones = tuple(known_phones)
    needles = _needles(phones)
    regions = _regions(phones)
    found: dict[str, None] = {}
    for path, name, value in _walk(values):
        if path in found or _allowed_hash(destination, name, value):
            continue
        value_regions = () if name in _MACHINE_NUMBERS else regions
        if (
            name.lower() in PII_NAMES
            or _has_pii(name, needles, regions)
            or _has_pii(value, needles, value_regions)
        ):
            found[path] = None
    return list(found)


def _allowed_hash(destination: str, name: str, value: str) -> bool:
    """A digest in the hashed-phone field of a destination allowed one; any other value there
    (a raw number, a mis-hashed one) is still flagged by the field's name."""
    return (
        destination in HASHED_PHONE_DESTINATIONS
        and name.lower() in _HASHED_PHONE_NAMES
        and _SHA256_HEX.fullmatch(value) is not None
    )


# Numbers the hit builders compute (a hash, a clock, a delay), never a sender's text: a random
# 11-digit cache buster can be a valid phone number, so only known phones are sought in them.
_MACHINE_NUMBERS: Final = frozenset({"z", "qt", "timestamp_micros"})


@functools.lru_cache(maxsize=1024)
def _regions(phones: tuple[str, ...]) -> tuple[str, ...]:
    """Where to read national numbers: the known phones' countries, then the default."""
    regions: dict[str, None] = {}
    for phone in phones:
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(phone, None))
        except phonenumbers.NumberParseException:
            continue
        if region and region != "ZZ" and region != "001":
            regions[region] = None
    regions[_DEFAULT_REGION] = None
    return tuple(regions)


def _walk(
    values: Mapping[str, object] | Iterable[tuple[str, str]],
) -> Iterator[tuple[str, str, str]]:
    """Yield (path, name, value as text) for every leaf; containers yield their key with ""."""
    pairs: Iterable[tuple[str, object]] = values.items() if isinstance(values, Mapping) else values
    for key, value in pairs:
        yield from _walk_value(str(key), str(key), value)


def _walk_value(path: str, name: str, value: object) -> Iterator[tuple[str, str, str]]:
    if isinstance(value, Mapping):
        yield path, name, ""
        for key, item in value.items():
            yield from _walk_value(f"{path}.{key}", str(key), item)
    elif isinstance(value, list | tuple):
        yield path, name, ""
        for index, item in enumerate(value):
            yield from _walk_value(f"{path}[{index}]", "", item)
    elif value is None or isinstance(value, bool):
        yield path, name, ""
    else:
        yield path, name, str(value)


@functools.lru_cache(maxsize=1024)
def _needles(phones: tuple[str, ...]) -> tuple[str, ...]:
    """Digit runs that identify the known phones: international, national, trunk-prefixed."""
    needles: set[str] = set()
    for phone in phones:
        digits = _NON_DIGITS_RE.sub("", phone)
        if len(digits) >= _MIN_NEEDLE:
            needles.add(digits)
        try:
            number = phonenumbers.parse(phone, None)
        except phonenumbers.NumberParseException:
            continue
        formats = (phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.NATIONAL)
        forms = [phonenumbers.format_number(number, form) for form in formats]
        forms.append(phonenumbers.national_significant_number(number))
        needles.update(
            digits
            for digits in (_NON_DIGITS_RE.sub("", form) for form in forms)
            if len(digits) >= _MIN_NEEDLE
        )
    return tuple(sorted(needles))


def _forms(text: str) -> set[str]:
    """The text as sent and URL-decoded until it stops changing, with `+` kept and as space."""
    forms = {text}
    if "%" not in text and "+" not in text:
        return forms
    for decode in (unquote, unquote_plus):
        current = text
        for _ in range(_MAX_DECODE_ROUNDS):
            decoded = decode(current)
            if decoded == current:
                break
            forms.add(decoded)
            current = decoded
    return forms


# Invisible characters that split a number without showing: zero-width space/joiners, word
# joiner, byte order mark, soft hyphen.
_INVISIBLE: Final = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_DASHES: Final = dict.fromkeys((*range(8208, 8214), 8722, 65112, 65123, 65293), "-")


def _normalised(text: str) -> str:
    """NFKC, digits of every script as ASCII, dashes as `-`, invisible characters removed."""
    if text.isascii():  # the common case, and already in its normal form
        return text
    text = unicodedata.normalize("NFKC", text.translate(_INVISIBLE)).translate(_DASHES)
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(c, c)) if not c.isascii() else c for c in text)


# Values that must pass though they hold digit runs a matcher could take for a phone: UUIDs,
# UA property ids, GA client ids and `_ga` cookies, ISO and written-out dates, times, IPv4/IPv6
# addresses, software versions ("Chrome/129.0.6668.100", "v 5.0") and dotted names with letters
# ("UP1A.231005.007"). They are blanked in the copy the phone matcher reads.
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_SAFE_TOKENS_RE: Final = re.compile(
    "|".join(
        (
            r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}",
            r"\b(?i:UA|YT|MO)-\d{4,10}-\d{1,4}\b",
            r"(?:GA\d+\.\d+(?:-\d+)?\.)?\d{6,}\.\d{6,}",
            r"\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
            r"(?:Z|[+-]\d{2}:?\d{2})?",
            r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}",
            rf"(?i:\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}(?:,?\s+\d{{1,2}}:?\d{{2}})?)",
            rf"(?i:\b\d{{1,2}}\s+{_MONTH}\s+\d{{4}}(?:,?\s+\d{{1,2}}:?\d{{2}})?)",
            r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?",
            r"(?<![0-9])1[0-9]{12}(?![0-9])",  # Unix time in milliseconds (2001-2286)
            # A computed decimal ("28437.14285714286", "1.5e-07"): one dot and a long fraction,
            # or an exponent. A written phone has two separators or none.
            r"(?<![0-9.])[0-9]+\.[0-9]{5,}(?:[eE][+-]?[0-9]+)?(?![0-9.])",
            r"(?<![0-9.])[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]+(?![0-9.])",
            r"\d{1,3}(?:\.\d{1,3}){3}",
            r"[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}",
            r"(?:(?<=[A-Za-z/])|\b[vV]\s?)\d+(?:[._]\d+)+",
            r"\b[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)+",
        )
    )
)
# `/` and `_` between digits are separators to a reader ("201/555/0123"); the matcher takes `-`.
_ODD_SEPARATOR_RE: Final = re.compile(r"(?<=[0-9])[/_](?=[0-9])")
# Fewer digits than this cannot be a phone number (the shortest national numbers have 7), and
# the check is skipped: the matcher is the costly step of the guard.
_MIN_PHONE_DIGITS: Final = 7
_DEFAULT_REGION: Final = "US"


# Seven digits with at most a few separators between them: without such a run the text
# holds no phone number, and the matcher (the costly step, ~100 µs) is not run.
_PHONE_RUN_RE: Final = re.compile(rf"[0-9](?:[\s().\-/_]{{0,3}}[0-9]){{{_MIN_PHONE_DIGITS - 1}}}")


@functools.lru_cache(maxsize=4096)  # user agents and landing pages repeat from hit to hit
def _matches_phone(text: str, regions: tuple[str, ...]) -> bool:
    """Whether libphonenumber finds a valid number in the (masked) text, read in `regions`."""
    if not _PHONE_RUN_RE.search(text):
        return False
    return any(phonenumbers.PhoneNumberMatcher(text, region).has_next() for region in regions)


def _has_pii(text: str, needles: tuple[str, ...], regions: tuple[str, ...] = ()) -> bool:
    if not text:
        return False
    for form in _forms(text):
        form = _normalised(form)
        if needles and _has_needle(form, needles):
            return True
        if "@" in form and _EMAIL_RE.search(form):
            return True
        if "+" in form and any(_possible_number(m.group()) for m in _E164_RE.finditer(form)):
            return True
        # Every phone check below needs a run of digits: most values have none, and skip them.
        if not _PHONE_RUN_RE.search(form):
            continue
        masked = _SAFE_TOKENS_RE.sub(" ", form)
        if any(_looks_formatted_phone(m, masked) for m in _FORMATTED_RE.finditer(masked)):
            return True
        if regions and _matches_phone(_ODD_SEPARATOR_RE.sub("-", masked), regions):
            return True
    return False


def _possible_number(candidate: str) -> bool:
    # "+10.000.000 points" is a `+` and 8 digits, but no country numbers its phones that way.
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        return False
    # A local-only length (7 digits after +1) is a number only where the area code is implied.
    reason = phonenumbers.is_possible_number_with_reason(number)
    return bool(reason == phonenumbers.ValidationResult.IS_POSSIBLE)


def _has_needle(form: str, needles: tuple[str, ...]) -> bool:
    digits = _NON_DIGITS_RE.sub("", form)
    short = []
    for needle in needles:
        if len(needle) < _ANYWHERE_NEEDLE:
            short.append(needle)
        elif needle in digits:
            return True
    if not short:
        return False
    for run in _RUN_RE.finditer(form):
        run_digits = _NON_DIGITS_RE.sub("", run.group())
        if any(
            run_digits.endswith(needle) and len(run_digits) - len(needle) <= _MAX_PREFIX
            for needle in short
        ):
            return True
    return False


def _looks_formatted_phone(match: re.Match[str], text: str) -> bool:
    candidate = match.group()
    start = match.start()
    # "sku-100-200-3000": dash-joined groups glued by a dash to a word are an identifier.
    glued = start >= 2 and text[start - 1] == "-" and text[start - 2].isalpha()
    if glued and set(_DIGITS_RE.sub("", candidate)) <= {"-"}:
        return False
    groups = _DIGITS_RE.findall(candidate)
    if not 10 <= sum(len(group) for group in groups) <= 15:
        return False
    bracketed = "(" in candidate
    if len(groups) < 3 and not bracketed:
        return False
    # Only a leading trunk/country digit ("1 800 …") may stand alone; "129.0.6668.100" is a
    # version, and a group of 6+ digits after a dot is a decimal or an id, not a phone.
    if any(len(group) < 2 for group in groups[1:]):
        return False
    if not bracketed and any(len(group) > 5 for group in groups[:-1]):
        return False
    if _IPV4_RE.fullmatch(candidate):
        return False
    return not _DATE_RE.search(candidate)
