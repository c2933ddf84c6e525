"""Google Ads on the real local stack: signed webhooks in, click conversions at the stand-in.

A stack of its own (google_ads only, enhanced conversions on), as `make run` starts it with
DESTINATIONS=google_ads. Shapes and codes: tests/data/ads/README.md (official google-ads 34.0.0).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import Pipeline, generic_event_id
from tests.e2e.samples import E2E_DELIVERY_ATTEMPTS
from tools.stack import Ports, Stack

ACTION = "customers/1234567890/conversionActions/987654321"
CALLER = "+12015550123"
ADS_ENV = {
    "GOOGLE_ADS_CUSTOMER_ID": "1234567890",
    "GOOGLE_ADS_CONVERSION_ACTION": ACTION,
    "GOOGLE_ADS_ENHANCED_CONVERSIONS": "true",
    "GOOGLE_ADS_MIN_TALK_SECONDS": "30",
}


@pytest.fixture(scope="module")
def pipeline() -> Iterator[Pipeline]:
    """This module's stack: the e2e conftest's autouse cleanup then clears its collector."""
    stack = Stack(
        ports=Ports.free(),
        env=ADS_ENV,
        destinations=("google_ads",),
        max_delivery_attempts=E2E_DELIVERY_ATTEMPTS,
    )
    with stack:
        os.environ["PUBSUB_EMULATOR_HOST"] = stack.emulator_host
        yield Pipeline(stack)


def answered(call_id: str, **fields: Any) -> dict[str, Any]:
    started = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
    return {
        "call_id": call_id,
        "status": "answered",
        "started_at": started.isoformat(),
        "talk_s": 140,
        "caller": CALLER,
        "gclid": "EAIaIQobChMIe2eAds0001",
        "value": 300,
        "currency": "USD",
        **fields,
    }


def uploads(pipeline: Pipeline, count: int) -> list[dict[str, Any]]:
    return pipeline.wait_for_hits(lambda hit: hit["destination"] == "google_ads", count)


def test_answered_call_with_gclid_is_uploaded_once_however_often_it_is_sent(
    pipeline: Pipeline,
) -> None:
    call = answered("e2e-ads-once")
    assert pipeline.post_generic(call).status_code == 202
    [upload] = uploads(pipeline, 1)
    [conversion] = upload["params"]["conversions"]
    start = datetime.fromisoformat(call["started_at"]).strftime("%Y-%m-%d %H:%M:%S+00:00")
    assert {k: v for k, v in conversion.items() if k != "orderId"} == {
        "gclid": "EAIaIQobChMIe2eAds0001",
        "conversionAction": ACTION,
        "conversionDateTime": start,
        "conversionValue": 300,
        "currencyCode": "USD",
    }
    assert upload["valid"] is True
    assert pipeline.post_generic(call).status_code == 202
    event_id = generic_event_id("e2e-ads-once")
    assert len(pipeline.outcomes(event_id, "duplicate", 1)) == 1
    assert len(uploads(pipeline, 2)) == 1


def test_a_partial_failure_dead_letters_the_call_with_googles_code(pipeline: Pipeline) -> None:
    pipeline.set_fault(ads_error="CLICK_NOT_FOUND", times=1)
    assert pipeline.post_generic(answered("e2e-ads-failure")).status_code == 202
    [letter] = pipeline.dead_letters(generic_event_id("e2e-ads-failure"))
    attributes = letter["attributes"]
    assert (attributes["reason"], attributes["destination"], attributes["detail"]) == (
        "conversion_rejected",
        "google_ads",
        "conversionUploadError CLICK_NOT_FOUND",
    )


def test_with_consent_the_upload_carries_the_phones_hash_and_none_of_its_digits(
    pipeline: Pipeline,
) -> None:
    call = answered("e2e-ads-enhanced", consent_ad_user_data="granted")
    assert pipeline.post_generic(call).status_code == 202
    [upload] = uploads(pipeline, 1)
    [conversion] = upload["params"]["conversions"]
    assert conversion["userIdentifiers"] == [
        {
            "userIdentifierSource": "FIRST_PARTY",
            "hashedPhoneNumber": hashlib.sha256(CALLER.encode()).hexdigest(),
        }
    ]
    assert "2015550123" not in upload["body"]


def test_a_call_without_a_click_id_uploads_nothing_and_is_logged_skipped(
    pipeline: Pipeline,
) -> None:
    assert pipeline.post_generic(answered("e2e-ads-no-click", gclid=None)).status_code == 202
    event_id = generic_event_id("e2e-ads-no-click")
    skipped = pipeline.outcomes(event_id, "skipped", 1)
    assert [line.get("reason") for line in skipped] == ["no_click_id"]
    assert uploads(pipeline, 1) == []
    assert pipeline.dead_letters(event_id, timeout_s=3) == []
