"""What every destination shares: the request it builds, and the checks before Google sees one.

Pure: a destination's `request` reads the event, the settings and the given `now`, nothing else
(Google Ads' access token aside: shared/ads_client.py). Sending is shared/sending.py's job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from shared.errors import PiiBlocked, TooOld
from shared.events import CallEvent
from shared.pii import find_pii
from shared.rules.limits import Target
from shared.settings import Settings


@dataclass(frozen=True)
class OutboundRequest:
    """One HTTP request to a destination, fully built and checked."""

    method: Literal["GET", "POST"]
    url: str
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # Reads (status, body) of an answer whose body says more than its status (Google Ads'
    # partial failures); it raises to override `send`'s classification.
    read_answer: Callable[[int, bytes], None] | None = None


Builder = Callable[[CallEvent, Settings, datetime], OutboundRequest]


@dataclass(frozen=True)
class Destination:
    """A named destination: its age limit, whether Google receives it, and its request builder.

    Each destination module declares one (hits/ua.py, hits/ga4.py, ads_client.py);
    shared/destinations.py registers them.
    """

    name: str
    max_age: timedelta
    target: Target
    build: Builder

    def request(self, event: CallEvent, settings: Settings, now: datetime) -> OutboundRequest:
        """The checked request for `event`: raises TooOld past `max_age`, else what `build` does."""
        self.check_age(event, now)
        return self.build(event, settings, now)

    def check_age(self, event: CallEvent, now: datetime) -> None:
        """Raises TooOld when what the event reports (the call's start, or a later
        qualification) happened longer ago than this destination takes."""
        if now - event.occurred_at > self.max_age:
            what = "call qualified" if event.is_qualification else "call started"
            raise TooOld(f"{what} more than {age_text(self.max_age)} ago")


def guard_pii(values: Mapping[str, object], phones: tuple[str, ...], destination: str = "") -> None:
    """The last step before Google: raises PiiBlocked if any parameter carries a phone or e-mail
    (`destination` names the fields find_pii lets that destination carry, if any)."""
    offending = find_pii(values, phones, destination=destination)
    if offending:
        # Parameter names only, never the values that matched.
        raise PiiBlocked("personal data in " + ", ".join(sorted(offending)))


def plain_headers(settings: Settings) -> dict[str, str]:
    """Headers every request carries."""
    # An explicit User-Agent: hits with a library default were reported as silently dropped.
    return {"User-Agent": settings.user_agent}


def form_headers(settings: Settings) -> dict[str, str]:
    """Headers of a form-encoded (UA hit) body."""
    return {**plain_headers(settings), "Content-Type": "application/x-www-form-urlencoded"}


def json_headers(settings: Settings) -> dict[str, str]:
    """Headers of a JSON body."""
    return {**plain_headers(settings), "Content-Type": "application/json"}


def age_text(age: timedelta) -> str:
    """An age limit as people say it: hours up to two days, then days."""
    hours = int(age.total_seconds() // 3600)
    return f"{hours // 24} days" if hours >= 48 else f"{hours} hours"
