"""Every platform's documented call scenarios through the real stack: one event per real call.

Each scenario (tools/scenarios/<platform>.py) is the sequence of signed requests a real call
makes the platform send, in order: several legs, stages or notifications for one call. Posted
to the running ingest, they must publish exactly the scenario's events (one per real call, with
the right outcome and the customer's number) and each destination must get exactly one hit per
call.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.hits.ua import cache_buster
from tests.e2e.conftest import Pipeline
from tools.scenarios import PLATFORMS, build_requests, expected_events, scenario_names

pytestmark = pytest.mark.e2e

CASES = [(source, scenario) for source in PLATFORMS for scenario in scenario_names(source)]


@pytest.mark.parametrize(("source", "scenario"), CASES, ids=[f"{s}-{n}" for s, n in CASES])
def test_scenario_publishes_one_event_per_real_call_and_one_hit_per_destination(
    source: str, scenario: str, pipeline: Pipeline
) -> None:
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    expected = expected_events(source, scenario, started)
    sequence = build_requests(
        source, scenario, started, pipeline.stack.ingest_url, datetime.now(UTC)
    )
    pipeline.all_published(wait_s=0.3)  # what earlier tests left on the spy subscription

    for request in sequence:
        response = pipeline.post(request.target, request.body, request.headers, request.method)
        assert response.status_code in (200, 202), (request.target, response.text)

    expected_ids = {event.event_id for event in expected}
    assert pipeline.published_ids(expected_ids) == expected_ids
    skipped = [event for event in expected if event.spam or event.is_qualification]
    for event in skipped:
        # Published (the platform reported a call), but dispatch sends a spam call nowhere;
        # a later qualification goes to GA4 only, and UA and OWOX BI's UA skip it.
        assert pipeline.outcomes(event.event_id, "skipped", count=2)
    sendable = {cache_buster(event.event_id): event for event in expected if event not in skipped}
    # One wait for every call's owox and ua hits (and a little more, for a duplicate).
    hits = pipeline.wait_for_hits(
        lambda hit: hit.get("params", {}).get("z") in sendable, count=2 * len(sendable)
    )
    skipped_z = {cache_buster(event.event_id) for event in skipped}
    assert [hit for hit in pipeline.hits() if hit.get("params", {}).get("z") in skipped_z] == []
    for z, event in sendable.items():
        mine = [hit for hit in hits if hit["params"]["z"] == z]
        assert sorted(hit["destination"] for hit in mine) == ["owox", "ua"], mine
        by_destination = {hit["destination"]: dict(hit["params"]) for hit in mine}
        owox, ua = by_destination["owox"], by_destination["ua"]
        assert owox["ea"] == ua["ea"] == event.status.value
        assert owox.get("tel") == event.caller
        assert "tel" not in ua
        assert owox.get("ev") == (None if event.duration_s is None else str(event.duration_s))
