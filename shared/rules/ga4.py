"""GA4 Measurement Protocol body and query rules, as Google's /debug/mp/collect applies them.

Limits and message codes live in limits.py. Over 400 lines because GA4 checks a nested body
(top level, identity, options, user properties, events, params, items), one small check each;
the reserved-name lists alone are 40.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from shared.rules.limits import (
    EXCEEDED_MAX_ENTITIES,
    GA4_BODY_LIMIT,
    GA4_FUTURE_SKEW,
    GA4_LONG_VALUES,
    GA4_MAX_AGE,
    GA4_MAX_EVENTS,
    GA4_MAX_NAME,
    GA4_MAX_PARAMS,
    GA4_MAX_USER_ID,
    GA4_MAX_USER_PROPERTIES,
    GA4_MAX_USER_PROPERTY_NAME,
    GA4_MAX_USER_PROPERTY_VALUE,
    GA4_MAX_VALUE,
    NAME_DUPLICATED,
    NAME_INVALID,
    NAME_RESERVED,
    TEL_E164,
    VALUE_INVALID,
    VALUE_OUT_OF_BOUNDS,
    VALUE_REQUIRED,
)


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
    problem = _event_name_problem(name)
    return None if problem is None else problem[1]


def _event_name_problem(name: str) -> tuple[str, str] | None:
    # An event name's shape is checked before whether it is reserved (params: the other way).
    problem = _name_problem(name, GA4_MAX_NAME)
    if problem is not None:
        return NAME_INVALID, problem
    if name in _GA4_RESERVED_EVENTS or name.startswith(_GA4_RESERVED_PREFIXES):
        return NAME_RESERVED, f"Event name [{name}] is reserved."
    return None


def _key_name_message(
    name: str, path: str, what: str, reserved: frozenset[str], limit: int
) -> Ga4Message | None:
    """NAME_RESERVED or NAME_INVALID for a parameter or user property name GA4 refuses."""
    if name.startswith(_GA4_RESERVED_PREFIXES) or name in reserved:
        return _m(path, NAME_RESERVED, f"{what} name [{name}] is reserved.")
    problem = _name_problem(name, limit)
    if problem:
        return _m(path, NAME_INVALID, f"{what} [{name}] has an invalid name. {problem}")
    return None


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
        refused = _key_name_message(name, here, "Parameter", _GA4_RESERVED_PARAMS, GA4_MAX_NAME)
        if refused:
            out.append(refused)
            continue
        if name == "items" and not is_item:
            out.extend(_check_items(value, here))
            continue
        if name == "tel" and not (isinstance(value, str) and TEL_E164.fullmatch(value)):
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
        refused = _event_name_problem(name)
        if refused is not None:
            code, problem = refused
            text = (
                problem if code == NAME_RESERVED else f"Event has invalid name [{name}]. {problem}"
            )
            out.append(_m(f"{path}.name", code, text))
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
        refused = _key_name_message(
            name, here, "User property", _GA4_RESERVED_USER_PROPERTIES, GA4_MAX_USER_PROPERTY_NAME
        )
        if refused:
            out.append(refused)
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
