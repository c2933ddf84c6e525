"""Each vendor's signed webhook through the real stack: OWOX BI gets the caller's phone as `tel`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import Pipeline
from tools.vendor_samples import SECRETS, VENDORS, Sample, expected_event, sample

pytestmark = pytest.mark.e2e


def _send(pipeline: Pipeline, request: Sample) -> tuple[int, str]:
    response = pipeline.post(request.target, request.body, request.headers, request.method)
    return response.status_code, response.text


@pytest.mark.parametrize("vendor", VENDORS)
def test_signed_vendor_webhook_reaches_owox_with_the_callers_phone(
    vendor: str, pipeline: Pipeline
) -> None:
    # Sent as the call ends, four minutes after it started (the scenarios' assumption: Twilio's
    # Dial action carries no time, so its start is counted back from when it arrives).
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=4)
    expected = expected_event(vendor, started)
    request = sample(vendor, started, pipeline.stack.ingest_url, now=datetime.now(UTC))

    status, text = _send(pipeline, request)

    assert status in (200, 202), text
    assert json.loads(text)["event_ids"] == [expected.event_id]
    hits = pipeline.hits_for_event(expected.event_id, count=2)
    by_destination = {hit["destination"]: dict(hit["params"]) for hit in hits}
    owox, ua = by_destination["owox"], by_destination["ua"]
    assert owox["tel"] == expected.caller
    assert "tel" not in ua
    assert owox["ea"] == ua["ea"] == expected.status.value
    assert owox.get("ev") == (None if expected.duration_s is None else str(expected.duration_s))
    age_ms = (datetime.now(UTC) - expected.started_at).total_seconds() * 1000
    # qt is taken when the hit is sent, a little before this test's clock read.
    assert age_ms - 60_000 <= int(owox["qt"]) <= age_ms


@pytest.mark.parametrize("vendor", VENDORS)
def test_vendor_webhook_with_a_wrong_credential_is_a_401_and_reaches_no_one(
    vendor: str, pipeline: Pipeline
) -> None:
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=4)
    expected = expected_event(vendor, started)
    request = sample(vendor, started, pipeline.stack.ingest_url, now=datetime.now(UTC))
    if vendor in ("ringostat", "uis", "calltouch"):
        request = request.with_query(request.query.replace(SECRETS[vendor], "guessed-token"))
    else:
        body = bytearray(request.body)
        body[-3] ^= 0x01  # one byte of the signed body (or Aircall's token) changed
        request = request.with_body(bytes(body)).with_header("Verification-Token", None)

    pipeline.published(expected.event_id, wait_s=1)  # drain what earlier tests published

    status, _ = _send(pipeline, request)

    assert status == 401
    assert pipeline.published(expected.event_id) == []
