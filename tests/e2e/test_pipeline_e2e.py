"""The pipeline end to end on real processes: signed webhook → Pub/Sub → OWOX BI and UA hits."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.sources.generic import sign
from tests.e2e.conftest import Pipeline, generic_event_id
from tests.e2e.samples import E2E_DELIVERY_ATTEMPTS
from tools.send_call import sample_call, signed_headers
from tools.stack import DEV_PROPERTY_ID, DEV_SECRET

pytestmark = pytest.mark.e2e


def _call_id() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}"


def test_signed_call_reaches_owox_with_phone_and_ua_without(pipeline: Pipeline) -> None:
    call_id = _call_id()
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    call = sample_call(call_id, started_at=started.isoformat())

    response = pipeline.post_generic(call)

    assert response.status_code == 202, response.text
    event_id = generic_event_id(call_id)
    assert response.json()["event_ids"] == [event_id]
    hits = pipeline.hits_for_event(event_id, count=2)
    by_destination = {hit["destination"]: hit for hit in hits}
    assert sorted(by_destination) == ["owox", "ua"]
    owox, ua = by_destination["owox"], by_destination["ua"]
    assert owox["path"] == f"/owox/{DEV_PROPERTY_ID}"
    assert "tel=%2B12015550123" in owox["query"]
    assert owox["messages"] == []
    assert ua["messages"] == []
    owox_params, ua_params = dict(owox["params"]), dict(ua["params"])
    assert owox_params.pop("tel") == "+12015550123"
    qt_owox, qt_ua = int(owox_params.pop("qt")), int(ua_params.pop("qt"))
    assert owox_params == ua_params
    assert ua_params == {
        "v": "1",
        "tid": DEV_PROPERTY_ID,
        "cid": "1760224793.1424413995",
        "t": "event",
        "ec": "call",
        "ea": "answered",
        "el": "generic",
        "ev": "187",
        "cs": "google",
        "cm": "cpc",
        "cn": "fall_storm_2024",
        "gclid": "EAIaIQobChMIdemo0001",
        "dl": "https://www.example.com/roof-repair",
        "ds": "call center",
        "z": ua_params["z"],
    }
    # qt is measured at send time: at least the two minutes since the call started.
    for qt in (qt_owox, qt_ua):
        assert 120_000 <= qt < 120_000 + 60_000
    assert ua["method"] == "POST"
    assert ua["headers"]["User-Agent"].startswith("owox-call-bridge/")
    assert "12015550123" not in json.dumps(ua)


def test_each_destination_gets_exactly_one_hit_per_call(pipeline: Pipeline) -> None:
    call_ids = [_call_id() for _ in range(5)]

    response = pipeline.post_generic([sample_call(call_id) for call_id in call_ids])

    assert response.status_code == 202
    assert len(response.json()["message_ids"]) == 5
    for call_id in call_ids:
        hits = pipeline.hits_for_event(generic_event_id(call_id), count=2)
        assert sorted(hit["destination"] for hit in hits) == ["owox", "ua"]


def test_invalid_body_is_refused_and_nothing_is_published(pipeline: Pipeline) -> None:
    call_id = _call_id()
    call = sample_call(call_id, caller="99-1234-x")

    response = pipeline.post_generic(call)

    assert response.status_code == 400
    assert response.json()["field"] == "caller"
    assert "99-1234" not in response.text
    assert pipeline.published(generic_event_id(call_id), wait_s=3) == []


@pytest.mark.parametrize(
    "tamper",
    ["one byte changed", "stale timestamp", "wrong secret", "no signature"],
)
def test_unauthentic_webhook_gets_401_and_nothing_is_published(
    pipeline: Pipeline, tamper: str
) -> None:
    call_id = _call_id()
    body = json.dumps(sample_call(call_id)).encode()
    headers = signed_headers(DEV_SECRET, body)
    if tamper == "one byte changed":
        body = body.replace(b'"duration_s": 187', b'"duration_s": 188')
    elif tamper == "stale timestamp":
        stale = int(time.time()) - 301
        headers = {**headers, "webhook-timestamp": str(stale)}
        headers["webhook-signature"] = sign(DEV_SECRET, headers["webhook-id"], stale, body)
    elif tamper == "wrong secret":
        headers = signed_headers("whsec_" + "A" * 32, body)
    else:
        del headers["webhook-signature"]

    response = pipeline.post("/generic", body, headers)

    assert response.status_code == 401
    assert pipeline.published(generic_event_id(call_id), wait_s=2) == []


def test_webhook_delivered_twice_gives_each_destination_one_hit(pipeline: Pipeline) -> None:
    call_id = _call_id()
    body = json.dumps(sample_call(call_id)).encode()
    headers = signed_headers(DEV_SECRET, body)

    # A vendor's retry: the very same signed request again, as after a 202 that got lost.
    responses = [pipeline.post("/generic", body, headers) for _ in range(2)]

    assert [response.status_code for response in responses] == [202, 202]
    event_id = generic_event_id(call_id)
    # Both copies were published; count hits once dispatch has seen the second at every destination.
    assert len(pipeline.outcomes(event_id, "duplicate", count=4)) == 4
    hits = pipeline.hits_for_event(event_id, 2) + pipeline.ga4_hits_for_event(event_id, 2)
    assert sorted(hit["destination"] for hit in hits) == ["ga4", "owox", "owox_ga4", "ua"]


def test_destination_failing_twice_still_gets_the_hit_exactly_once(pipeline: Pipeline) -> None:
    pipeline.set_fault(status=503, times=2, path_prefix="/owox/")
    call_id = _call_id()

    assert pipeline.post_generic(sample_call(call_id)).status_code == 202

    # Two refused OWOX attempts, the redelivered one that lands, and the UA hit.
    hits = pipeline.hits_for_event(generic_event_id(call_id), count=4, timeout_s=60)
    owox = [hit for hit in hits if hit["destination"] == "owox"]
    assert [hit.get("fault") is not None for hit in owox] == [True, True, False]
    # UA has its own subscription: the OWOX outage did not make it receive the call twice.
    assert [hit["destination"] for hit in hits].count("ua") == 1


def test_destination_refusing_the_hit_dead_letters_the_event_with_its_reason(
    pipeline: Pipeline,
) -> None:
    pipeline.set_fault(status=400, times=1, path_prefix="/owox/")
    call_id = _call_id()

    assert pipeline.post_generic(sample_call(call_id)).status_code == 202

    event_id = generic_event_id(call_id)
    letters = pipeline.dead_letters(event_id)
    assert len(letters) == 1
    attributes = letters[0]["attributes"]
    assert attributes["reason"] == "destination_rejected"
    assert attributes["destination"] == "owox"
    assert attributes["detail"] == "destination answered HTTP 400"
    assert json.loads(letters[0]["data"])["event_id"] == event_id


def test_destination_that_stays_down_gets_the_event_dead_lettered_by_pubsub(
    pipeline: Pipeline,
) -> None:
    pipeline.set_fault(status=503, path_prefix="/owox/")
    call_id = _call_id()

    assert pipeline.post_generic(sample_call(call_id)).status_code == 202

    event_id = generic_event_id(call_id)
    letters = pipeline.dead_letters(event_id, timeout_s=300)
    assert len(letters) == 1
    # Pub/Sub itself moved it after the subscription's delivery attempts.
    attempts = [
        hit
        for hit in pipeline.hits_for_event(event_id, E2E_DELIVERY_ATTEMPTS + 1)
        if hit["destination"] == "owox"
    ]
    assert len(attempts) == E2E_DELIVERY_ATTEMPTS
    assert letters[0]["attributes"]["source"] == "generic"
    assert json.loads(letters[0]["data"])["event_id"] == event_id
