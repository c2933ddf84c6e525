"""No platform reports one call with two outcomes.

Pub/Sub keeps no order between messages (a retried delivery can land minutes after a later
one), so when two requests of one call publish events with the same id, the delivery ledger
sends whichever arrives first: they must agree, or the outcome would be a race.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.settings import Settings
from shared.sources import SOURCES
from tools.scenarios import PLATFORMS, build_requests, scenario_names
from tools.scenarios.common import SECRETS, TIMEZONES

STARTED = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SETTINGS = Settings(
    webhook_secrets={name: (secret,) for name, secret in SECRETS.items()},
    source_timezones={name: ZoneInfo(zone) for name, zone in TIMEZONES.items()},
)
CASES = [(source, scenario) for source in PLATFORMS for scenario in scenario_names(source)]


@pytest.mark.parametrize(("source", "scenario"), CASES, ids=[f"{s}-{n}" for s, n in CASES])
def test_every_report_of_one_call_carries_the_same_outcome(source: str, scenario: str) -> None:
    outcomes: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for sample in build_requests(source, scenario, STARTED):
        request = sample.request(STARTED + timedelta(minutes=4))
        SOURCES[source].verify(request, [SECRETS[source]])
        for event in SOURCES[source].parse(request, SETTINGS).events:
            outcomes[event.event_id].add((event.kind, event.status.value))
    assert {event_id: found for event_id, found in outcomes.items() if len(found) > 1} == {}
