"""What every platform's scenarios share: development secrets, the signed request, templates.

The local stack enables every source with these development secrets, so `make demo SOURCE=…`
and the tests send exactly what each platform would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from string import Template
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo

from shared.sources.base import WebhookRequest

DATA = Path(__file__).parent.parent / "samples"
# Development-only secrets, one per source (Dialpad's is long: PyJWT warns on short HS256 keys).
SECRETS: dict[str, str] = {
    "callrail": "a3f1c9e07b2d4e8f9a6b5c4d3e2f1a0b",
    "twilio": "0123456789abcdef0123456789abcdef",
    "aircall": "aircall-token-1f2e3d4c5b6a7988",
    "ringcentral": "rc-verification-token-5d4c3b2a19",
    "dialpad": "dialpad-secret-for-tests-0123456789abcdef",
    "ringostat": "ringostat-token-8c7b6a5f4e3d",
    "uis": "uis-token-2b3c4d5e6f7a8b9c",
    "calltouch": "calltouch-token-9a8b7c6d5e4f",
}
TIMEZONES = {"ringostat": "Europe/Kyiv", "uis": "Europe/Moscow", "calltouch": "Europe/Moscow"}
VENDORS = tuple(SECRETS)


def dev_environment() -> dict[str, str]:
    """`WEBHOOK_SECRET_<SOURCE>` for every vendor, and the SOURCE_TIMEZONES its samples assume."""
    secrets = {f"WEBHOOK_SECRET_{name.upper()}": secret for name, secret in SECRETS.items()}
    zones = ",".join(f"{name}={zone}" for name, zone in TIMEZONES.items())
    return {**secrets, "SOURCE_TIMEZONES": zones}


@dataclass(frozen=True)
class Sample:
    """One vendor HTTP request, ready to send: method, path, raw query, headers, body."""

    source: str
    method: str
    path: str
    query: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def target(self) -> str:
        """Path plus query string, as an HTTP client requests it."""
        return self.path + (f"?{self.query}" if self.query else "")

    def request(self, now: datetime, base_url: str = "https://hooks.example.com") -> WebhookRequest:
        """The WebhookRequest ingest would build for this sample."""
        subpath = self.path.removeprefix(f"/{self.source}")
        return WebhookRequest(
            method=self.method,
            subpath=subpath,
            query=self.query,
            headers={key.lower(): value for key, value in self.headers.items()},
            body=self.body,
            public_url=base_url + self.target,
            received_at=now,
        )

    def with_body(self, body: bytes) -> Sample:
        """The same request with other body bytes and the same signature."""
        return replace(self, body=body)

    def with_header(self, name: str, value: str | None) -> Sample:
        """The same request with one header replaced (or removed when `value` is None)."""
        headers = {key: val for key, val in self.headers.items() if key.lower() != name.lower()}
        return replace(self, headers=headers if value is None else {**headers, name: value})

    def with_query(self, query: str) -> Sample:
        """The same request with another query string."""
        return replace(self, query=query)


def template(name: str, **values: object) -> str:
    """A file of tools/samples with its `$placeholders` filled in."""
    return Template((DATA / name).read_text()).substitute(values)


def local_time(moment: datetime, zone: str) -> str:
    """`YYYY-MM-DD hh:mm:ss` in `zone`, as platforms that send naive local times write it."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")


# A scenario: (started, base_url, sent) → the requests in arrival order; started → the events.
Requests: TypeAlias = Callable[[datetime, str, datetime], list[Sample]]
Events: TypeAlias = Callable[[datetime], list[dict[str, Any]]]
Scenarios: TypeAlias = dict[str, tuple[Requests, Events]]
