"""Vendor numbers too large for a float are a 400 naming the field, never an OverflowError."""

from __future__ import annotations

from datetime import UTC

import pytest

from shared.errors import BadPayload
from shared.sources import fields

HUGE = 10**400  # what `json.loads` makes of a 401-digit number


def test_huge_unix_time_is_refused_naming_the_field() -> None:
    with pytest.raises(BadPayload) as refused:
        fields.instant(HUGE, "start_time", UTC)
    assert (refused.value.field, refused.value.detail) == (
        "start_time",
        "start_time: not a Unix time",
    )


def test_huge_whole_number_is_refused_naming_the_field() -> None:
    with pytest.raises(BadPayload) as refused:
        fields.integer(HUGE, "data.started_at")
    assert refused.value.field == "data.started_at"


def test_largest_exact_whole_number_is_still_read() -> None:
    assert fields.integer(2**53, "duration") == 2**53
