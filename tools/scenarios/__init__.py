"""Each platform's realistic call scenarios: the signed requests a real call sends, in order,
and the call events they must publish (`make demo SOURCE=… SCENARIO=…`, contract and e2e tests).

A platform module defines `SCENARIOS`: scenario name → (requests builder, expected events).
Builders take (started, base_url, sent): the call's start (UTC, whole seconds), the URL the
platform calls, and when it sends. Expected events are call-event fields without `source`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from shared.events import CallEvent, parse_event
from tools.scenarios import (
    aircall,
    callrail,
    calltouch,
    dialpad,
    ringcentral,
    ringostat,
    twilio,
    uis,
)
from tools.scenarios.common import Events, Requests, Sample, Scenarios


class Platform(Protocol):
    """A platform's scenario module."""

    NAME: str
    SCENARIOS: Scenarios


PLATFORMS: dict[str, Platform] = {
    module.NAME: module
    for module in (callrail, twilio, aircall, ringcentral, dialpad, ringostat, uis, calltouch)
}
# Every platform has these; a platform may add its own (e.g. `transfer`).
COMMON_SCENARIOS = ("answered", "missed", "voicemail", "multi-leg")
DEFAULT_BASE_URL = "https://hooks.example.com"


def scenario_names(source: str) -> tuple[str, ...]:
    """The scenarios a platform has, common ones first."""
    names = tuple(PLATFORMS[source].SCENARIOS)
    return tuple(name for name in COMMON_SCENARIOS if name in names) + tuple(
        name for name in names if name not in COMMON_SCENARIOS
    )


def build_requests(
    source: str,
    scenario: str,
    started: datetime,
    base_url: str = DEFAULT_BASE_URL,
    now: datetime | None = None,
) -> list[Sample]:
    """The signed requests of one scenario, in the order the platform sends them."""
    build, _ = _scenario(source, scenario)
    return build(started, base_url, now or started + timedelta(minutes=4))


def expected_events(source: str, scenario: str, started: datetime) -> list[CallEvent]:
    """The call events the scenario's requests must publish, in order."""
    _, expect = _scenario(source, scenario)
    return [parse_event({"source": source, **data}, "US") for data in expect(started)]


def _scenario(source: str, scenario: str) -> tuple[Requests, Events]:
    scenarios = PLATFORMS[source].SCENARIOS
    if scenario not in scenarios:
        known = ", ".join(scenario_names(source))
        raise KeyError(f"{source} has no scenario {scenario!r} (known: {known})")
    return scenarios[scenario]
