"""Untrusted bytes: JSON limits, strict UTF-8, forms; vendor value quirks."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import BadPayload
from shared.sources import decode, fields


def test_json_nested_deeper_than_the_limit_is_refused() -> None:
    body = b"[" * (decode.MAX_JSON_DEPTH + 1) + b"]" * (decode.MAX_JSON_DEPTH + 1)

    with pytest.raises(BadPayload, match="deeper"):
        decode.json_value(body)


def test_json_at_the_depth_limit_is_accepted() -> None:
    body = b"[" * decode.MAX_JSON_DEPTH + b"]" * decode.MAX_JSON_DEPTH

    assert decode.json_value(body) is not None


def test_json_array_over_the_item_limit_is_refused() -> None:
    body = ("[" + ",".join(["0"] * (decode.MAX_ITEMS + 1)) + "]").encode()

    with pytest.raises(BadPayload, match="items"):
        decode.json_value(body)


def test_json_nested_past_the_parsers_stack_is_a_bad_payload_not_a_crash() -> None:
    with pytest.raises(BadPayload):
        decode.json_value(b"[" * 100_000)


def test_json_number_with_too_many_digits_is_a_bad_payload() -> None:
    with pytest.raises(BadPayload):
        decode.json_value(b"1" * 5000)


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_json_non_finite_constants_are_refused(constant: bytes) -> None:
    with pytest.raises(BadPayload):
        decode.json_value(b'{"duration": ' + constant + b"}")


def test_json_string_with_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(BadPayload, match="Unicode"):
        decode.json_value(b'{"caller": "\\ud800"}')


def test_text_with_a_raw_lone_surrogate_is_refused() -> None:
    # A str (not bytes) never went through the strict UTF-8 decoder, so it may hold one raw.
    with pytest.raises(BadPayload, match="Unicode"):
        decode.json_value('{"caller": "\ud800"}')


def test_escaped_backslash_before_u_d800_is_plain_text_and_accepted() -> None:
    assert decode.json_value(b'{"note": "\\\\ud800"}') == {"note": "\\ud800"}


def test_surrogate_pair_escape_is_one_character_and_accepted() -> None:
    assert decode.json_value(b'{"note": "\\ud83d\\ude00"}') == {"note": "\U0001f600"}


def test_depth_and_width_at_the_limits_in_one_document_are_accepted() -> None:
    nested = "[" * (decode.MAX_JSON_DEPTH - 1) + "]" * (decode.MAX_JSON_DEPTH - 1)
    body = "[" + ",".join(["0"] * (decode.MAX_ITEMS - 1) + [nested]) + "]"

    value = decode.json_value(body.encode())

    assert len(value) == decode.MAX_ITEMS


# Strings with lone surrogates too: escaped by json.dumps, or raw when not ASCII-only.
# (st.text leaves surrogates out, so strings are joined from characters.)
_TEXT = st.lists(
    st.characters() | st.sampled_from(["\ud800", "\udfff", ",", "[", "{"]), max_size=4
).map("".join)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_JSON, ascii_only=st.booleans())
def test_the_text_screen_never_passes_a_value_the_full_walk_refuses(
    value: Any, ascii_only: bool
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    with pytest.MonkeyPatch.context() as patch:
        # Limits small enough for generated documents to cross them; the screen reads them too.
        patch.setattr(decode, "MAX_JSON_DEPTH", 3)
        patch.setattr(decode, "MAX_ITEMS", 3)
        walk_accepts = _accepted(lambda: decode._check_shape(json.loads(text), "body"))

        assert _accepted(lambda: decode.json_value(text)) == walk_accepts
        if _accepted(lambda: text.encode("utf-8")):
            assert _accepted(lambda: decode.json_value(text.encode("utf-8"))) == walk_accepts
            if decode.within_limits_by_text(text, from_utf8=True):
                assert walk_accepts


def _accepted(work: Callable[[], object]) -> bool:
    try:
        work()
    except (BadPayload, UnicodeEncodeError):
        return False
    return True


def test_body_in_utf16_is_refused_even_though_json_could_read_it() -> None:
    with pytest.raises(BadPayload, match="UTF-8"):
        decode.json_value('{"a": 1}'.encode("utf-16"))


def test_form_with_an_escape_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(BadPayload, match="UTF-8"):
        decode.form("callId=%ff")


def test_form_keeps_blank_values_and_order() -> None:
    assert decode.form("a=1&b=&a=2") == [("a", "1"), ("b", ""), ("a", "2")]


@pytest.mark.parametrize(("value", "seconds"), [("187", 187), (187, 187), (87000.0, 87000)])
def test_durations_sent_as_strings_or_floats_are_whole_seconds(value: object, seconds: int) -> None:
    assert fields.integer(value, "duration") == seconds


@pytest.mark.parametrize("value", ["1.5", "abc", True, float("nan")])
def test_durations_that_are_not_whole_numbers_are_refused(value: object) -> None:
    with pytest.raises(BadPayload):
        fields.integer(value, "duration")


@pytest.mark.parametrize(
    ("value", "result"), [("true", True), ("False", False), (1, True), ("0", False)]
)
def test_booleans_sent_as_strings_or_numbers_are_read(value: object, result: bool) -> None:
    assert fields.boolean(value, "answered") is result


@pytest.mark.parametrize(
    "value",
    [
        "2024-11-05T09:18:12-05:00",
        "2024-11-05T14:18:12Z",
        "Tue, 05 Nov 2024 14:18:12 +0000",
        1730816292,
        "1730816292",
        1730816292000,
        "2024-11-05 16:18:12",
        "05.11.2024 16:18:12",
    ],
)
def test_every_time_format_gives_the_same_instant(value: object) -> None:
    moment = fields.instant(value, "calldate", ZoneInfo("Europe/Kyiv"))

    assert moment == datetime(2024, 11, 5, 14, 18, 12, tzinfo=UTC)


def test_time_in_year_one_is_refused_before_it_overflows() -> None:
    with pytest.raises(BadPayload, match="year"):
        fields.instant("0001-01-01T00:00:00+05:00", "start_time", UTC)


@pytest.mark.parametrize("value", ["anonymous", "Restricted", "", None])
def test_withheld_callers_have_no_phone(value: object) -> None:
    assert fields.caller_phone(value, "caller") is None


def test_line_number_that_is_an_extension_is_dropped() -> None:
    assert fields.line_phone("101", "US") is None
