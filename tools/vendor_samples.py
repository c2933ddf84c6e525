"""Each vendor's sample webhook for an answered call, signed its own way, and the event it means.

The samples are the last request of each platform's `answered` scenario (tools/scenarios).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events import CallEvent
from tools.scenarios import build_requests, expected_events
from tools.scenarios.common import SECRETS, TIMEZONES, Sample, dev_environment

VENDORS = tuple(SECRETS)

__all__ = [
    "SECRETS",
    "TIMEZONES",
    "VENDORS",
    "Sample",
    "dev_environment",
    "expected_event",
    "sample",
]


def sample(
    source: str, started: datetime, base_url: str = "https://hooks.example.com", now: Any = None
) -> Sample:
    """The vendor's signed sample for a call that started at `started` (UTC, whole seconds)."""
    return build_requests(source, "answered", started, base_url, now)[-1]


def expected_event(source: str, started: datetime) -> CallEvent:
    """The call event each sample must become."""
    return expected_events(source, "answered", started)[-1]
