"""Measurement Protocol rules (UA v1, OWOX BI access point, GA4) as pure, table-driven checks."""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal
from urllib.parse import parse_qsl

# Message codes. Google's own (observed in /debug/collect and /debug/mp/collect responses):
#   VALUE_INVALID, VALUE_REQUIRED, VALUE_MODIFIED, UNKNOWN_PARAMETER (UA);
#   VALUE_INVALID, VALUE_REQUIRED, NAME_INVALID, NAME_RESERVED, VALUE_OUT_OF_BOUNDS,
#   EXCEEDED_MAX_ENTITIES, NAME_DUPLICATED (GA4).
# Ours, for things Google accepts with a 2xx but then truncates, ignores or drops silently:
#   VALUE_TRUNCATED (WARN)     text longer than its byte limit; Google keeps the truncated prefix.
#   PARAMETER_IGNORED (WARN)   parameter not used on this hit type (or product data without `pa`).
#   PARAMETER_DUPLICATED (WARN) the same key twice with different values; the first one is used.
#   PAYLOAD_TOO_LARGE (ERROR)  hit/batch over the byte limit; Google drops it without an error.
#   TOO_MANY_HITS (ERROR)      a batch with more than 20 hits.
#   PII_DETECTED (ERROR)       a phone number / e-mail in a hit bound for Google (shared/pii.py).
VALUE_INVALID: Final = "VALUE_INVALID"
VALUE_REQUIRED: Final = "VALUE_REQUIRED"
VALUE_MODIFIED: Final = "VALUE_MODIFIED"
UNKNOWN_PARAMETER: Final = "UNKNOWN_PARAMETER"
VALUE_TRUNCATED: Final = "VALUE_TRUNCATED"
PARAMETER_IGNORED: Final = "PARAMETER_IGNORED"
PARAMETER_DUPLICATED: Final = "PARAMETER_DUPLICATED"
PAYLOAD_TOO_LARGE: Final = "PAYLOAD_TOO_LARGE"
TOO_MANY_HITS: Final = "TOO_MANY_HITS"
PII_DETECTED: Final = "PII_DETECTED"
NAME_INVALID: Final = "NAME_INVALID"
NAME_RESERVED: Final = "NAME_RESERVED"
NAME_DUPLICATED: Final = "NAME_DUPLICATED"
VALUE_OUT_OF_BOUNDS: Final = "VALUE_OUT_OF_BOUNDS"
EXCEEDED_MAX_ENTITIES: Final = "EXCEEDED_MAX_ENTITIES"

MessageType = Literal["ERROR", "WARN", "INFO"]
Target = Literal["google", "owox"]
ValueType = Literal["text", "integer", "number", "currency", "boolean"]

UA_HIT_LIMIT_GOOGLE: Final = 8192
UA_HIT_LIMIT_OWOX: Final = 16 * 1024
UA_GET_LIMIT_GOOGLE: Final = 8000
UA_BATCH_MAX_HITS: Final = 20
UA_BATCH_LIMIT: Final = 16 * 1024
QT_LIMIT_MS: Final[Mapping[str, int]] = {"google": 4 * 3600 * 1000, "owox": 30 * 24 * 3600 * 1000}
HIT_TYPES: Final = frozenset(
    {"pageview", "screenview", "event", "transaction", "item", "social", "exception", "timing"}
)
_INT64_MAX: Final = 2**63 - 1


@dataclass(frozen=True)
class ParserMessage:
    """One entry of a UA validation-server `parserMessage` list."""

    message_type: MessageType
    message_code: str
    description: str
    parameter: str | None = None

    def to_json(self) -> dict[str, str]:
        """Google's key names and order; `parameter` is omitted when None."""
        out = {
            "messageType": self.message_type,
            "description": self.description,
            "messageCode": self.message_code,
        }
        if self.parameter is not None:
            out["parameter"] = self.parameter
        return out


@dataclass(frozen=True)
class Ga4Message:
    """One entry of a GA4 `/debug/mp/collect` `validationMessages` list."""

    field_path: str
    description: str
    validation_code: str

    def to_json(self) -> dict[str, str]:
        """Google's key names: fieldPath, description, validationCode."""
        return {
            "fieldPath": self.field_path,
            "description": self.description,
            "validationCode": self.validation_code,
        }


@dataclass(frozen=True)
class UaBatchResult:
    """Validation of a `/batch` request: request-level messages and one list per hit line."""

    batch_messages: tuple[ParserMessage, ...]
    hit_messages: tuple[tuple[ParserMessage, ...], ...]


def is_valid(messages: Iterable[ParserMessage | Ga4Message]) -> bool:
    """True when no message rejects the hit: no UA ERROR and no GA4 message at all.

    GA4 validation messages carry no severity; Google lists only problems, so any one is fatal.
    """
    for message in messages:
        if isinstance(message, Ga4Message) or message.message_type == "ERROR":
            return False
    return True


# ---------------------------------------------------------------------------------------------
# UA v1 parameter table (../shared reference §1.4)


@dataclass(frozen=True)
class _Spec:
    kind: ValueType
    max_bytes: int | None = None
    hit_types: frozenset[str] | None = None  # None: every hit type
    with_pa: bool = False  # also valid on any hit type when `pa` (enhanced e-commerce) is set
    needs_pa: bool = False  # ignored by Google unless `pa` is set


def _s(
    kind: ValueType = "text",
    max_bytes: int | None = None,
    hits: str | None = None,
    *,
    with_pa: bool = False,
    needs_pa: bool = False,
) -> _Spec:
    types = frozenset(hits.split()) if hits else None
    return _Spec(kind, max_bytes, types, with_pa, needs_pa)


_TIMING_INTS = ("utt", "plt", "dns", "pdt", "rrt", "tcp", "srt", "dit", "clt")

_EXACT: Final[dict[str, _Spec]] = {
    # general / user / session
    "v": _s(),
    "tid": _s(),
    "aip": _s("boolean"),
    "npa": _s("boolean"),
    "ds": _s(),
    "qt": _s("integer"),
    "z": _s(),
    "cid": _s(),
    "uid": _s(),
    "sc": _s(),
    "uip": _s(),
    "ua": _s(),
    "geoid": _s(),
    # traffic sources
    "dr": _s("text", 2048),
    "cn": _s("text", 100),
    "cs": _s("text", 100),
    "cm": _s("text", 50),
    "ck": _s("text", 500),
    "cc": _s("text", 500),
    "ci": _s("text", 100),
    "gclid": _s(),
    "dclid": _s(),
    # system info
    "sr": _s("text", 20),
    "vp": _s("text", 20),
    "de": _s("text", 20),
    "sd": _s("text", 20),
    "ul": _s("text", 20),
    "je": _s("boolean"),
    "fl": _s("text", 20),
    # hit / content / app
    "t": _s(),
    "ni": _s("boolean"),
    "dl": _s("text", 2048),
    "dh": _s("text", 100),
    "dp": _s("text", 2048),
    "dt": _s("text", 1500),
    "cd": _s("text", 2048),
    "linkid": _s(),
    "an": _s("text", 100),
    "aid": _s("text", 150),
    "av": _s("text", 100),
    "aiid": _s("text", 150),
    # events
    "ec": _s("text", 150, "event"),
    "ea": _s("text", 500, "event"),
    "el": _s("text", 500, "event"),
    "ev": _s("integer", None, "event"),
    # classic and enhanced e-commerce
    "ti": _s("text", 500, "transaction item", with_pa=True),
    "ta": _s("text", 500, "transaction", with_pa=True),
    "tr": _s("currency", None, "transaction", with_pa=True),
    "ts": _s("currency", None, "transaction", with_pa=True),
    "tt": _s("currency", None, "transaction", with_pa=True),
    "in": _s("text", 500, "item"),
    "ip": _s("currency", None, "item"),
    "iq": _s("integer", None, "item"),
    "ic": _s("text", 500, "item"),
    "iv": _s("text", 500, "item"),
    "cu": _s("text", 10, "transaction item", with_pa=True),
    "pa": _s(),
    "tcc": _s(needs_pa=True),
    "pal": _s(needs_pa=True),
    "cos": _s("integer", needs_pa=True),
    "col": _s(needs_pa=True),
    "promoa": _s(),
    # social / timing / exception / experiments
    "sn": _s("text", 50, "social"),
    "sa": _s("text", 50, "social"),
    "st": _s("text", 2048, "social"),
    "utc": _s("text", 150, "timing"),
    "utv": _s("text", 500, "timing"),
    "utl": _s("text", 500, "timing"),
    **{name: _s("integer", None, "timing") for name in _TIMING_INTS},
    "exd": _s("text", 150, "exception"),
    "exf": _s("boolean", None, "exception"),
    "xid": _s("text", 40),
    "xvar": _s(),
}

# OWOX BI's extra parameters (reference §3.2): personal data, so never valid for Google.
_OWOX_ONLY: Final[dict[str, _Spec]] = {"tel": _s(), "email": _s()}

_I = r"([0-9]+)"
# (pattern, spec, maximum of each captured index); indices are 1-based without leading zeros.
_PATTERNS: Final[tuple[tuple[re.Pattern[str], _Spec, tuple[int, ...]], ...]] = tuple(
    (re.compile(pattern), spec, ranges)
    for pattern, spec, ranges in (
        (rf"cd{_I}", _s("text", 150), (200,)),
        (rf"cm{_I}", _s("number"), (200,)),
        (rf"cg{_I}", _s("text", 100), (5,)),
        (rf"pr{_I}(?:id|nm|br|va|cc|ca)", _s("text", 500, needs_pa=True), (200,)),
        (rf"pr{_I}pr", _s("currency", needs_pa=True), (200,)),
        (rf"pr{_I}(?:qt|ps)", _s("integer", needs_pa=True), (200,)),
        (rf"pr{_I}cd{_I}", _s("text", needs_pa=True), (200, 200)),
        (rf"pr{_I}cm{_I}", _s("integer", needs_pa=True), (200, 200)),
        (rf"il{_I}nm", _s(), (200,)),
        (rf"il{_I}pi{_I}(?:id|nm|br|ca|va)", _s(), (200, 200)),
        (rf"il{_I}pi{_I}ps", _s("integer"), (200, 200)),
        (rf"il{_I}pi{_I}pr", _s("currency"), (200, 200)),
        (rf"il{_I}pi{_I}cd{_I}", _s(), (200, 200, 200)),
        (rf"il{_I}pi{_I}cm{_I}", _s("integer"), (200, 200, 200)),
        (rf"promo{_I}(?:id|nm|cr|ps)", _s(), (200,)),
    )
)

# Required beyond v/tid/t/cid|uid, per hit type (reference §1.3). Google does not enforce these
# (its validation server calls an event without ec/ea valid), but such hits are useless to us.
_REQUIRED_BY_TYPE: Final[Mapping[str, tuple[str, ...]]] = {
    "screenview": ("cd",),
    "event": ("ec", "ea"),
    "transaction": ("ti",),
    "item": ("ti", "in"),
    "social": ("sn", "sa", "st"),
    "timing": ("utc", "utv", "utt"),
}
_APP_FIELDS: Final = ("aid", "av", "aiid")

_TID_RE: Final = re.compile(r"UA-\d{4,10}-\d{1,4}", re.IGNORECASE | re.ASCII)
# re.ASCII: `\d` must not accept other scripts' digits, which Google would not parse.
_INTEGER_RE: Final = re.compile(r"-?\d+", re.ASCII)
_NUMBER_RE: Final = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?", re.ASCII)
_CURRENCY_RE: Final = re.compile(r"-?\d+(?:\.\d{1,6})?", re.ASCII)
_CURRENCY_LEAD_RE: Final = re.compile(r"^[^\d.\-]*", re.ASCII)
_E164_RE: Final = re.compile(r"\+[1-9]\d{6,14}", re.ASCII)
_EMAIL_RE: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CURRENCY_CODE_RE: Final = re.compile(r"[A-Za-z]{3}")
_PRODUCT_ACTIONS: Final = frozenset(
    {"detail", "click", "add", "remove", "checkout", "checkout_option", "purchase", "refund"}
)


def _error(code: str, description: str, parameter: str | None = None) -> ParserMessage:
    return ParserMessage("ERROR", code, description, parameter)


def _invalid(name: str, why: str) -> ParserMessage:
    return _error(
        VALUE_INVALID, f"The value provided for parameter '{name}' is invalid: {why}.", name
    )


def _required(name: str, why: str = "") -> ParserMessage:
    text = f"A value is required for parameter '{name}'{why}."
    return _error(VALUE_REQUIRED, text, name)


def _lookup(name: str, target: Target) -> tuple[_Spec | None, str | None]:
    """Find a parameter's spec; the second item explains a malformed index, if any."""
    spec = _EXACT.get(name)
    if spec is not None:
        return spec, None
    if target == "owox" and name in _OWOX_ONLY:
        return _OWOX_ONLY[name], None
    for pattern, pattern_spec, ranges in _PATTERNS:
        match = pattern.fullmatch(name)
        if match is None:
            continue
        for index, top in zip(match.groups(), ranges, strict=True):
            if index.startswith("0") or not 1 <= int(index) <= top:
                return pattern_spec, f"index {index} is outside 1-{top}"
        return pattern_spec, None
    return None, None


def _type_problem(kind: ValueType, value: str) -> str | None:
    if kind == "integer":
        if not _INTEGER_RE.fullmatch(value) or abs(int(value)) > _INT64_MAX:
            return "expected a 64-bit integer"
    elif kind == "number":
        if not _NUMBER_RE.fullmatch(value) or not math.isfinite(float(value)):
            return "expected a number"
    elif kind == "currency":
        # Google strips leading non-numeric characters up to the first digit, '-' or '.'.
        if not _CURRENCY_RE.fullmatch(_CURRENCY_LEAD_RE.sub("", value, count=1)):
            return "expected a decimal amount with at most 6 fractional digits"
    elif kind == "boolean" and value not in ("0", "1"):
        return "expected 0 or 1"
    return None


def _value_problem(name: str, value: str, target: Target) -> str | None:
    """Rules beyond the value type (reference §1.5)."""
    problem: str | None = None
    if name == "v" and value != "1":
        problem = "the only protocol version is 1"
    elif name == "tid" and not _TID_RE.fullmatch(value):
        problem = "expected a Universal Analytics property id like UA-12345678-1"
    elif name == "t" and value not in HIT_TYPES:
        problem = f"unknown hit type; expected one of {', '.join(sorted(HIT_TYPES))}"
    elif name in ("ev", *_TIMING_INTS) and _INTEGER_RE.fullmatch(value) and int(value) < 0:
        problem = "must not be negative"
    elif name == "qt" and _INTEGER_RE.fullmatch(value):
        limit = QT_LIMIT_MS[target]
        if not 0 <= int(value) <= limit:
            problem = f"queue time must be between 0 and {limit} ms for {target}"
    elif name == "sc" and value not in ("start", "end"):
        problem = "expected start or end"
    elif name == "pa" and value not in _PRODUCT_ACTIONS:
        problem = "unknown product action"
    elif name == "promoa" and value not in ("view", "click", "promo_click"):
        problem = "expected view, click or promo_click"
    elif name == "cu" and not _CURRENCY_CODE_RE.fullmatch(value):
        problem = "expected an ISO 4217 currency code"
    elif name == "uip":
        try:
            ipaddress.ip_address(value)
        except ValueError:
            problem = "expected an IPv4 or IPv6 address"
    elif name == "tel" and not _E164_RE.fullmatch(value):
        problem = "expected an E.164 number such as +12015550111, sent as %2B12015550111"
    elif name == "email" and not _EMAIL_RE.fullmatch(value):
        problem = "expected an e-mail address"
    return problem


def _check_param(
    name: str, raw: str, spec: _Spec, target: Target, params: Mapping[str, str], hit_type: str
) -> list[ParserMessage]:
    out: list[ParserMessage] = []
    value = raw.strip() if spec.kind == "text" else raw
    if "\ufffd" in raw:
        out.append(
            ParserMessage(
                "WARN",
                VALUE_MODIFIED,
                f"The value of parameter '{name}' had bytes that are not UTF-8; "
                "they were replaced by U+FFFD.",
                name,
            )
        )
    if value == "":
        # Empty required values are reported once, as VALUE_REQUIRED, by the caller; `aip`
        # works by presence alone; an empty typed value is a builder bug Google would ignore.
        if spec.kind not in ("text", "boolean") or (spec.kind == "boolean" and name != "aip"):
            out.append(_invalid(name, f"expected a {spec.kind}, got an empty value"))
        return out
    problem = _type_problem(spec.kind, value) or _value_problem(name, value, target)
    if problem:
        out.append(_invalid(name, problem))
    if spec.max_bytes is not None and len(value.encode()) > spec.max_bytes:
        # Google truncates over-long text and still accepts the hit, so rejecting it here would
        # make us dead-letter calls Google takes; a WARN keeps `valid` faithful to Google while
        # making the truncation visible (builders should truncate at a UTF-8 boundary).
        out.append(
            ParserMessage(
                "WARN",
                VALUE_TRUNCATED,
                f"The value of parameter '{name}' is longer than {spec.max_bytes} bytes "
                "and will be truncated.",
                name,
            )
        )
    has_pa = bool(params.get("pa"))
    if spec.needs_pa and not has_pa:
        out.append(_ignored(name, "it is only used together with a product action 'pa'"))
    elif (
        hit_type in HIT_TYPES
        and spec.hit_types is not None
        and hit_type not in spec.hit_types
        and not (spec.with_pa and has_pa)
    ):
        out.append(_ignored(name, f"it is not used on hit type '{hit_type}'"))
    return out


def _ignored(name: str, why: str) -> ParserMessage:
    return ParserMessage("WARN", PARAMETER_IGNORED, f"Parameter '{name}' is ignored: {why}.", name)


def _missing_required(params: Mapping[str, str], hit_type: str) -> list[ParserMessage]:
    def present(key: str) -> bool:
        return params.get(key, "").strip() != ""

    out = [_required(key) for key in ("v", "tid", "t") if not present(key)]
    if not present("cid") and not present("uid"):
        out.append(_required("cid", " (or 'uid')"))
    if hit_type == "pageview" and not present("dl") and not (present("dh") and present("dp")):
        out.append(_required("dl", " (or both 'dh' and 'dp') for hit type 'pageview'"))
    for key in _REQUIRED_BY_TYPE.get(hit_type, ()):
        if not present(key):
            out.append(_required(key, f" for hit type '{hit_type}'"))
    if any(present(key) for key in _APP_FIELDS) and not present("an"):
        out.append(_required("an", " when any app field (aid, av, aiid) is sent"))
    return out


def validate_ua_hit(params: Mapping[str, str], target: Target) -> list[ParserMessage]:
    """Check one decoded UA v1 hit against the parameter table and required-parameter rules.

    Messages come per parameter in the hit's order, then the missing required ones.
    """
    out: list[ParserMessage] = []
    hit_type = params.get("t", "").strip()
    for name, raw in params.items():
        if target == "google" and name in _OWOX_ONLY:
            out.append(
                _error(
                    PII_DETECTED,
                    f"Parameter '{name}' carries personal data and is only allowed for OWOX BI; "
                    "Google Analytics forbids it.",
                    name,
                )
            )
            continue
        spec, index_problem = _lookup(name, target)
        if spec is None:
            out.append(
                ParserMessage(
                    "INFO",
                    UNKNOWN_PARAMETER,
                    f"The parameter '{name}' is unexpected for this hit and will be ignored.",
                    name,
                )
            )
            continue
        if index_problem:
            out.append(_invalid(name, index_problem))
            continue
        out.extend(_check_param(name, raw, spec, target, params, hit_type))
    out.extend(_missing_required(params, hit_type))
    return out


def parse_ua_payload(payload: bytes) -> list[tuple[str, str]]:
    """Decode a URL-encoded hit as Google does: UTF-8 with replacement, blanks kept, lenient."""
    text = payload.decode("utf-8", errors="replace")
    return parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="replace")


def ua_payload_limit(target: Target) -> int:
    """Largest single hit in bytes: 8192 for Google, 16 KB for OWOX BI."""
    return UA_HIT_LIMIT_GOOGLE if target == "google" else UA_HIT_LIMIT_OWOX


def ua_pairs_messages(pairs: Sequence[tuple[str, str]], target: Target) -> list[ParserMessage]:
    """Validate already-decoded key/value pairs, warning about conflicting duplicate keys."""
    params: dict[str, str] = {}
    duplicates: list[ParserMessage] = []
    for key, value in pairs:
        if key not in params:
            params[key] = value
        elif params[key] != value:
            duplicates.append(
                ParserMessage(
                    "WARN",
                    PARAMETER_DUPLICATED,
                    f"Parameter '{key}' is sent more than once with different values; "
                    "only the first is used.",
                    key,
                )
            )
    return duplicates + validate_ua_hit(params, target)


def ua_size_messages(
    size: int, target: Target, *, method: Literal["GET", "POST"] = "POST"
) -> list[ParserMessage]:
    """PAYLOAD_TOO_LARGE when a hit of `size` bytes is over the target's limit.

    For a Google GET the 8000-byte URL limit is applied to the query string alone.
    """
    limit = UA_GET_LIMIT_GOOGLE if (method == "GET" and target == "google") else None
    limit = limit or ua_payload_limit(target)
    if size <= limit:
        return []
    return [
        _error(
            PAYLOAD_TOO_LARGE,
            f"The hit is {size} bytes; {target} accepts at most {limit} and silently drops "
            "larger hits.",
        )
    ]


def validate_ua_payload(
    payload: bytes, target: Target, *, method: Literal["GET", "POST"] = "POST"
) -> list[ParserMessage]:
    """Validate one raw hit (a POST body or a GET query string), its size included."""
    size = ua_size_messages(len(payload), target, method=method)
    return size + ua_pairs_messages(parse_ua_payload(payload), target)


def validate_ua_batch(lines: list[bytes]) -> UaBatchResult:
    """Validate a Google `/batch` request: at most 20 hits, 16 KB in total, 8 KB per hit."""
    batch: list[ParserMessage] = []
    if not lines:
        batch.append(_error(VALUE_REQUIRED, "The batch contains no hits."))
    if len(lines) > UA_BATCH_MAX_HITS:
        batch.append(
            _error(
                TOO_MANY_HITS,
                f"The batch has {len(lines)} hits; at most {UA_BATCH_MAX_HITS} are allowed.",
            )
        )
    # Newline separators count towards the request size.
    total = sum(len(line) for line in lines) + max(len(lines) - 1, 0)
    if total > UA_BATCH_LIMIT:
        batch.append(
            _error(
                PAYLOAD_TOO_LARGE,
                f"The batch is {total} bytes; at most {UA_BATCH_LIMIT} are allowed.",
            )
        )
    hits = tuple(tuple(validate_ua_payload(line, "google")) for line in lines)
    return UaBatchResult(tuple(batch), hits)


def debug_collect_response(hits: list[tuple[str, list[ParserMessage]]]) -> dict[str, object]:
    """Build Google's `/debug/collect` JSON from (hit as received, its messages) pairs."""
    count = len(hits)
    return {
        "hitParsingResult": [
            {
                "valid": is_valid(messages),
                "parserMessage": [message.to_json() for message in messages],
                "hit": hit,
            }
            for hit, messages in hits
        ],
        "parserMessage": [
            {
                "messageType": "INFO",
                "description": f"Found {count} hit{'' if count == 1 else 's'} in the request.",
            }
        ],
    }


# ---------------------------------------------------------------------------------------------
# GA4 Measurement Protocol (../shared reference §4)

GA4_BODY_LIMIT: Final = 130_000  # "< 130 kB"; the decimal reading is the stricter one
GA4_MAX_EVENTS: Final = 25
GA4_MAX_PARAMS: Final = 25
GA4_MAX_USER_PROPERTIES: Final = 25
GA4_MAX_NAME: Final = 40
GA4_MAX_VALUE: Final = 100
GA4_LONG_VALUES: Final[Mapping[str, int]] = {
    "page_title": 300,
    "page_referrer": 420,
    "page_location": 1000,
}
GA4_MAX_USER_PROPERTY_NAME: Final = 24
GA4_MAX_USER_PROPERTY_VALUE: Final = 36
GA4_MAX_USER_ID: Final = 256
GA4_MAX_AGE: Final = timedelta(hours=72)
# OWOX BI's GA4 access point accepts events of any past date and documents no limit; 30 days,
# as its UA access point documents for `qt`, bounds how long a stuck event keeps being retried.
OWOX_GA4_MAX_AGE: Final = timedelta(days=30)
# Vendor clocks (the call's start time) may run a little ahead of ours.
GA4_FUTURE_SKEW: Final = timedelta(minutes=5)

_GA4_NAME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_GA4_RESERVED_PREFIXES: Final = ("_", "firebase_", "ga_", "google_", "gtag.")
_GA4_RESERVED_EVENTS: Final = frozenset(
    {
        # web
        "ad_impression", "app_remove", "app_store_refund", "app_store_subscription_cancel",
        "app_store_subscription_renew", "click", "error", "file_download", "first_open",
        "first_visit", "form_start", "form_submit", "in_app_purchase", "page_view", "scroll",
        "session_start", "user_engagement", "view_complete", "video_progress", "video_start",
        "view_search_results",
        # app streams
        "ad_click", "ad_exposure", "ad_query", "ad_reward", "adunit_exposure", "app_background",
        "app_exception", "app_update", "dynamic_link_app_open", "dynamic_link_app_update",
        "dynamic_link_first_open", "notification_dismiss", "notification_foreground",
        "notification_open", "notification_receive", "os_update", "screen_view",
    }
)  # fmt: skip
# Names reserved for Google's own definitions. MP events are expected to carry `session_id` and
# `engagement_time_msec`, so those two stay allowed even though older lists reserve them.
_GA4_RESERVED_PARAMS: Final = frozenset(
    {"cid", "customer_id", "dclid", "gclid", "session_number", "sid", "uid", "user_id"}
)
_GA4_RESERVED_USER_PROPERTIES: Final = frozenset(
    {
        "first_open_time", "first_visit_time", "last_deep_link_referrer", "user_id",
        "first_open_after_install",
    }
)  # fmt: skip
_GA4_TOP_LEVEL: Final = frozenset(
    {
        "client_id", "app_instance_id", "user_id", "timestamp_micros", "user_properties",
        "user_data", "consent", "non_personalized_ads", "user_location", "ip_override", "device",
        "validation_behavior", "events",
    }
)  # fmt: skip
_GA4_APP_INSTANCE_RE: Final = re.compile(r"[0-9a-fA-F]{32}")
_GA4_MEASUREMENT_ID_RE: Final = re.compile(r"G-[A-Z0-9]{4,}")


class _JsonObject(dict[str, object]):
    """A parsed JSON object that remembers keys repeated in the source text."""

    duplicated: tuple[str, ...] = ()


def _object_pairs(pairs: list[tuple[str, object]]) -> _JsonObject:
    obj = _JsonObject(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        repeated: list[str] = []
        for key, _ in pairs:
            if key in seen and key not in repeated:
                repeated.append(key)
            seen.add(key)
        obj.duplicated = tuple(repeated)
    return obj


def parse_ga4_body(body: bytes) -> object:
    """Parse a GA4 request body, remembering duplicated keys; raises ValueError on bad JSON."""
    return json.loads(body.decode("utf-8"), object_pairs_hook=_object_pairs)


def _m(path: str, code: str, description: str) -> Ga4Message:
    return Ga4Message(path, description, code)


def _duplicates(obj: Mapping[str, object], path: str, what: str) -> list[Ga4Message]:
    return [
        _m(path, NAME_DUPLICATED, f"{what} [{key}] appears more than once.")
        for key in getattr(obj, "duplicated", ())
    ]


def _name_problem(name: str, limit: int) -> str | None:
    if not name:
        return "Names must not be empty."
    if not _GA4_NAME_RE.fullmatch(name):
        if not name[0].isalpha():
            return "Names must start with an alphabetic character."
        return "Names may only contain alphanumeric characters and underscores."
    if len(name) > limit:
        return f"Names must be {limit} characters or fewer."
    return None


def ga4_event_name_problem(name: str) -> str | None:
    """Why GA4 would refuse `name` as an event name (charset, length, reserved), or None."""
    problem = _name_problem(name, GA4_MAX_NAME)
    if problem is None and (
        name in _GA4_RESERVED_EVENTS or name.startswith(_GA4_RESERVED_PREFIXES)
    ):
        problem = f"Event name [{name}] is reserved."
    return problem


def _check_timestamp(
    value: object, path: str, now: datetime, max_age: timedelta = GA4_MAX_AGE
) -> list[Ga4Message]:
    if isinstance(value, bool) or not isinstance(value, int):
        return [_m(path, VALUE_INVALID, "timestamp_micros must be an integer (microseconds).")]
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value)
    if moment < now - max_age:
        hours = int(max_age.total_seconds() // 3600)
        return [_m(path, VALUE_OUT_OF_BOUNDS, f"timestamp_micros is more than {hours} hours ago.")]
    if moment > now + GA4_FUTURE_SKEW:
        return [_m(path, VALUE_OUT_OF_BOUNDS, "timestamp_micros is in the future.")]
    return []


def _check_param_value(name: str, value: object, path: str, limit: int) -> list[Ga4Message]:
    if isinstance(value, str):
        if len(value) > limit:
            return [
                _m(
                    path,
                    VALUE_OUT_OF_BOUNDS,
                    f"Value of parameter [{name}] is {len(value)} characters; "
                    f"the limit is {limit}.",
                )
            ]
        return []
    if isinstance(value, bool | int):
        return []
    if isinstance(value, float) and math.isfinite(value):
        return []
    return [_m(path, VALUE_INVALID, f"Parameter [{name}] must be a string or a number.")]


def _check_params(params: object, path: str, is_item: bool = False) -> list[Ga4Message]:
    if not isinstance(params, Mapping):
        return [_m(path, VALUE_INVALID, "params must be an object.")]
    out = _duplicates(params, path, "Parameter")
    if not is_item and len(params) > GA4_MAX_PARAMS:
        out.append(
            _m(
                path,
                EXCEEDED_MAX_ENTITIES,
                f"{len(params)} parameters; an event may have at most {GA4_MAX_PARAMS}.",
            )
        )
    for name, value in params.items():
        here = f"{path}.{name}"
        if name.startswith(_GA4_RESERVED_PREFIXES) or name in _GA4_RESERVED_PARAMS:
            out.append(_m(here, NAME_RESERVED, f"Parameter name [{name}] is reserved."))
            continue
        problem = _name_problem(name, GA4_MAX_NAME)
        if problem:
            out.append(_m(here, NAME_INVALID, f"Parameter [{name}] has an invalid name. {problem}"))
            continue
        if name == "items" and not is_item:
            out.extend(_check_items(value, here))
            continue
        if name == "tel" and not (isinstance(value, str) and _E164_RE.fullmatch(value)):
            # OWOX BI's phone parameter, as on its UA access point: E.164 or it is not a phone.
            out.append(_m(here, VALUE_INVALID, "tel must be an E.164 number like +12015550111."))
            continue
        out.extend(_check_param_value(name, value, here, GA4_LONG_VALUES.get(name, GA4_MAX_VALUE)))
    return out


def _check_items(items: object, path: str) -> list[Ga4Message]:
    if not isinstance(items, list):
        return [_m(path, VALUE_INVALID, "items must be an array of objects.")]
    out: list[Ga4Message] = []
    for index, item in enumerate(items):
        out.extend(_check_params(item, f"{path}[{index}]", is_item=True))
    return out


def _check_event(
    event: object, path: str, now: datetime, max_age: timedelta = GA4_MAX_AGE
) -> list[Ga4Message]:
    if not isinstance(event, Mapping):
        return [_m(path, VALUE_INVALID, "Each event must be an object.")]
    out = _duplicates(event, path, "Key")
    name = event.get("name")
    if name is None or name == "":
        out.append(_m(f"{path}.name", VALUE_REQUIRED, "Event name is required."))
    elif not isinstance(name, str):
        out.append(_m(f"{path}.name", VALUE_INVALID, "Event name must be a string."))
    else:
        problem = _name_problem(name, GA4_MAX_NAME)
        if problem:
            out.append(
                _m(f"{path}.name", NAME_INVALID, f"Event has invalid name [{name}]. {problem}")
            )
        elif name in _GA4_RESERVED_EVENTS or name.startswith(_GA4_RESERVED_PREFIXES):
            out.append(_m(f"{path}.name", NAME_RESERVED, f"Event name [{name}] is reserved."))
    if "params" in event:
        out.extend(_check_params(event["params"], f"{path}.params"))
    if "timestamp_micros" in event:
        out.extend(
            _check_timestamp(event["timestamp_micros"], f"{path}.timestamp_micros", now, max_age)
        )
    for key in event:
        if key not in ("name", "params", "timestamp_micros"):
            out.append(_m(f"{path}.{key}", VALUE_INVALID, f"Unknown event field [{key}]."))
    return out


def _check_events(
    events: object, now: datetime, max_age: timedelta = GA4_MAX_AGE
) -> list[Ga4Message]:
    if events is None:
        return [_m("events", VALUE_REQUIRED, "At least one event is required.")]
    if not isinstance(events, list):
        return [_m("events", VALUE_INVALID, "events must be an array.")]
    if not events:
        return [_m("events", VALUE_REQUIRED, "At least one event is required.")]
    out: list[Ga4Message] = []
    if len(events) > GA4_MAX_EVENTS:
        out.append(
            _m(
                "events",
                EXCEEDED_MAX_ENTITIES,
                f"{len(events)} events; a request may have at most {GA4_MAX_EVENTS}.",
            )
        )
    for index, event in enumerate(events):
        out.extend(_check_event(event, f"events[{index}]", now, max_age))
    return out


def _check_user_properties(props: object) -> list[Ga4Message]:
    path = "user_properties"
    if not isinstance(props, Mapping):
        return [_m(path, VALUE_INVALID, "user_properties must be an object.")]
    out = _duplicates(props, path, "User property")
    if len(props) > GA4_MAX_USER_PROPERTIES:
        out.append(
            _m(
                path,
                EXCEEDED_MAX_ENTITIES,
                f"{len(props)} user properties; at most {GA4_MAX_USER_PROPERTIES} are allowed.",
            )
        )
    for name, wrapper in props.items():
        here = f"{path}.{name}"
        if name.startswith(_GA4_RESERVED_PREFIXES) or name in _GA4_RESERVED_USER_PROPERTIES:
            out.append(_m(here, NAME_RESERVED, f"User property name [{name}] is reserved."))
            continue
        problem = _name_problem(name, GA4_MAX_USER_PROPERTY_NAME)
        if problem:
            out.append(
                _m(here, NAME_INVALID, f"User property [{name}] has an invalid name. {problem}")
            )
            continue
        if not isinstance(wrapper, Mapping) or "value" not in wrapper:
            out.append(_m(f"{here}.value", VALUE_REQUIRED, 'A user property is {"value": ...}.'))
            continue
        out.extend(
            _check_param_value(name, wrapper["value"], f"{here}.value", GA4_MAX_USER_PROPERTY_VALUE)
        )
    return out


def _check_identity(body: Mapping[str, object], stream: Literal["web", "app"]) -> list[Ga4Message]:
    out: list[Ga4Message] = []
    key = "client_id" if stream == "web" else "app_instance_id"
    value = body.get(key)
    if value is None or value == "":
        out.append(_m(key, VALUE_REQUIRED, f"{key} is required for {stream} streams."))
    elif not isinstance(value, str):
        out.append(_m(key, VALUE_INVALID, f"{key} must be a string."))
    elif stream == "app" and not _GA4_APP_INSTANCE_RE.fullmatch(value):
        out.append(_m(key, VALUE_INVALID, "app_instance_id must be 32 hexadecimal digits."))
    user_id = body.get("user_id")
    if user_id is not None:
        if not isinstance(user_id, str):
            out.append(_m("user_id", VALUE_INVALID, "user_id must be a string."))
        elif len(user_id) > GA4_MAX_USER_ID:
            out.append(
                _m("user_id", VALUE_OUT_OF_BOUNDS, f"user_id is over {GA4_MAX_USER_ID} characters.")
            )
    return out


def _check_options(body: Mapping[str, object]) -> list[Ga4Message]:
    out: list[Ga4Message] = []
    if "non_personalized_ads" in body and not isinstance(body["non_personalized_ads"], bool):
        out.append(_m("non_personalized_ads", VALUE_INVALID, "Must be true or false."))
    behavior = body.get("validation_behavior")
    if behavior is not None and behavior not in ("RELAXED", "ENFORCE_RECOMMENDATIONS"):
        out.append(
            _m("validation_behavior", VALUE_INVALID, "Expected RELAXED or ENFORCE_RECOMMENDATIONS.")
        )
    consent = body.get("consent")
    if consent is not None:
        if not isinstance(consent, Mapping):
            out.append(_m("consent", VALUE_INVALID, "consent must be an object."))
        else:
            for key, value in consent.items():
                if key not in ("ad_user_data", "ad_personalization"):
                    out.append(_m(f"consent.{key}", VALUE_INVALID, f"Unknown consent [{key}]."))
                elif value not in ("GRANTED", "DENIED"):
                    out.append(_m(f"consent.{key}", VALUE_INVALID, "Expected GRANTED or DENIED."))
    ip = body.get("ip_override")
    if ip is not None:
        try:
            ipaddress.ip_address(ip if isinstance(ip, str) else "")
        except ValueError:
            out.append(_m("ip_override", VALUE_INVALID, "Expected an IPv4 or IPv6 address."))
    for key in ("user_location", "device", "user_data"):
        if key in body and not isinstance(body[key], Mapping):
            out.append(_m(key, VALUE_INVALID, f"{key} must be an object."))
    return out


def validate_ga4_body(
    body: bytes | Mapping[str, object],
    now: datetime,
    *,
    stream: Literal["web", "app"] = "web",
    max_age: timedelta = GA4_MAX_AGE,
) -> list[Ga4Message]:
    """Check a GA4 Measurement Protocol body (raw bytes or parsed) against reference §4.2-4.3.

    `now` and `max_age` bound timestamp_micros (a naive `now` is taken as UTC; Google allows
    72 hours, OWOX BI's GA4 access point older events). Field paths are precise
    (`events[0].params.call_label`); Google itself often reports just `events`.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    out: list[Ga4Message] = []
    if isinstance(body, bytes | bytearray):
        size = len(body)
    else:
        size = len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    if size >= GA4_BODY_LIMIT:
        out.append(
            _m(
                "",
                VALUE_OUT_OF_BOUNDS,
                f"The body is {size} bytes; it must be smaller than {GA4_BODY_LIMIT}.",
            )
        )
    if isinstance(body, bytes | bytearray):
        try:
            parsed = parse_ga4_body(bytes(body))
        except (ValueError, UnicodeDecodeError) as exc:
            return [*out, _m("", VALUE_INVALID, f"Unable to parse the JSON body: {exc}.")]
    else:
        parsed = body
    if not isinstance(parsed, Mapping):
        return [*out, _m("", VALUE_INVALID, "The body must be a JSON object.")]
    out.extend(_duplicates(parsed, "", "Key"))
    out.extend(
        _m(key, VALUE_INVALID, f"Unknown field [{key}].")
        for key in parsed
        if key not in _GA4_TOP_LEVEL
    )
    out.extend(_check_identity(parsed, stream))
    if "timestamp_micros" in parsed:
        out.extend(_check_timestamp(parsed["timestamp_micros"], "timestamp_micros", now, max_age))
    if "user_properties" in parsed:
        out.extend(_check_user_properties(parsed["user_properties"]))
    out.extend(_check_options(parsed))
    out.extend(_check_events(parsed.get("events"), now, max_age))
    return out


def validate_ga4_query(query: Mapping[str, str]) -> list[Ga4Message]:
    """Check a Google GA4 collect URL's query: api_secret and a G- measurement_id (web stream)."""
    out: list[Ga4Message] = []
    if not query.get("firebase_app_id"):
        measurement_id = query.get("measurement_id", "")
        if not measurement_id:
            out.append(_m("measurement_id", VALUE_REQUIRED, "measurement_id is required."))
        elif not _GA4_MEASUREMENT_ID_RE.fullmatch(measurement_id):
            out.append(_m("measurement_id", VALUE_INVALID, "Expected a G-XXXXXXX id."))
    if not query.get("api_secret"):
        out.append(_m("api_secret", VALUE_REQUIRED, "api_secret is required."))
    return out


def debug_mp_collect_response(messages: Iterable[Ga4Message]) -> dict[str, object]:
    """Build Google's `/debug/mp/collect` JSON: `{"validationMessages": [...]}`."""
    return {"validationMessages": [message.to_json() for message in messages]}
