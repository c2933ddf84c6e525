"""Universal Analytics v1 hit rules (Google's collect and OWOX BI's UA access point), table-driven.

Limits and message codes live in limits.py. Over 400 lines because a third of it is the
parameter table (every v1 parameter's type, byte limit and hit types): split, it would be one
table read in two places.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import parse_qsl

from shared.rules.limits import (
    PARAMETER_DUPLICATED,
    PARAMETER_IGNORED,
    PAYLOAD_TOO_LARGE,
    PII_DETECTED,
    QT_LIMIT_MS,
    TEL_E164,
    UA_GET_LIMIT_GOOGLE,
    UA_HIT_LIMIT_GOOGLE,
    UA_HIT_LIMIT_OWOX,
    UNKNOWN_PARAMETER,
    VALUE_INVALID,
    VALUE_MODIFIED,
    VALUE_REQUIRED,
    VALUE_TRUNCATED,
    MessageType,
    Target,
)

ValueType = Literal["text", "integer", "number", "currency", "boolean"]

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
    elif name == "tel" and not TEL_E164.fullmatch(value):
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
