"""E.164 normalisation of phone numbers as vendors send them."""

from __future__ import annotations

import pytest

from shared.events import parse_event
from shared.phones import is_phone, to_e164
from shared.sources import fields


def test_e164_number_is_returned_unchanged() -> None:
    assert to_e164("+12015550123", "US") == "+12015550123"


def test_punctuation_and_spaces_are_removed() -> None:
    assert to_e164("+1 (201) 555-0123", "US") == "+12015550123"


def test_national_number_uses_the_default_region() -> None:
    assert to_e164("020 7946 0123", "GB") == "+442079460123"


def test_national_number_with_a_trunk_prefix_in_another_region() -> None:
    assert to_e164("044 123 4567", "UA") == "+380441234567"


def test_international_number_ignores_the_default_region() -> None:
    assert to_e164("+1 201 555 0123", "GB") == "+12015550123"


def test_international_dialling_prefix_is_understood() -> None:
    assert to_e164("0044 20 7946 0123", "GB") == "+442079460123"


def test_digits_only_number_with_country_code_gets_its_plus_back() -> None:
    assert to_e164("442079460123", "US") == "+442079460123"


def test_digits_only_number_with_the_home_country_code_is_understood() -> None:
    assert to_e164("12015550123", "US") == "+12015550123"


def test_tel_uri_is_accepted() -> None:
    assert to_e164("tel:+12015550123", "US") == "+12015550123"


def test_surrounding_whitespace_is_ignored() -> None:
    assert to_e164("  +12015550123\n", "US") == "+12015550123"


def test_extension_is_not_part_of_the_e164_number() -> None:
    assert to_e164("+12015550123 ext. 5", "US") == "+12015550123"


@pytest.mark.parametrize("raw", ["", "   "])
def test_empty_number_is_rejected(raw: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        to_e164(raw, "US")


@pytest.mark.parametrize("raw", ["abc", "123", "+1234", "anonymous", "+1234567890123456"])
def test_text_that_is_not_a_possible_number_is_rejected(raw: str) -> None:
    with pytest.raises(ValueError, match="phone number"):
        to_e164(raw, "US")


def test_rejection_message_does_not_echo_the_input() -> None:
    with pytest.raises(ValueError, match="not a phone number") as raised:
        to_e164("99 private 77", "US")
    assert "99" not in str(raised.value)


# --- the parse cache: repeats are answered from it, and must answer exactly as a first parse ---


def test_repeated_rejection_is_rejected_every_time() -> None:
    for _ in range(3):
        with pytest.raises(ValueError, match="not a phone number"):
            to_e164("anonymous", "US")


def test_same_national_digits_in_two_regions_are_two_numbers() -> None:
    # The cache key carries the region: a number first seen as British is not reused for Ukraine.
    assert [to_e164("044 123 4567", "GB"), to_e164("044 123 4567", "UA")] == [
        "+44441234567",
        "+380441234567",
    ]


def test_e164_number_is_the_same_whatever_the_default_region() -> None:
    assert {to_e164("+380441234567", region) for region in ("US", "GB", "UA", "DE")} == {
        "+380441234567"
    }


def test_digits_only_number_is_read_in_its_region_before_and_after_an_e164_lookup() -> None:
    # "2015550123" is national in the US; a cached "+2015550123" (Egypt) must not leak into it.
    assert [to_e164("+2015550123", "US"), to_e164("2015550123", "US")] == [
        "+2015550123",
        "+12015550123",
    ]


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("+12015550123", "US"),
        ("020 7946 0123", "GB"),
        ("442079460123", "US"),
        ("101", "US"),
        ("sip:agent@example.com", "US"),
        ("  ", "US"),
        ("+1 (201) 555-0123", "GB"),
    ],
)
def test_is_phone_says_exactly_whether_to_e164_takes_the_number(raw: str, region: str) -> None:
    try:
        to_e164(raw, region)
    except ValueError:
        taken = False
    else:
        taken = True
    assert is_phone(raw, region) is taken


def test_a_tracking_number_reaches_the_event_as_sent_and_is_normalised_there() -> None:
    line = fields.line_phone("(201) 555-0123", "US")
    event = parse_event(
        {
            "source": "generic",
            "call_id": "c-1",
            "status": "answered",
            "started_at": "2026-11-27T12:00:00Z",
            "tracking_number": line,
        },
        "US",
    )
    assert (line, event.tracking_number) == ("(201) 555-0123", "+12015550123")
