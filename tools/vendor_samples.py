"""Each vendor's sample webhook (tools/samples), signed its own way, and the event it means.

The local stack enables every source with these development secrets, so `make demo SOURCE=…`
and the tests send exactly what each platform would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import parse_qsl, quote
from zoneinfo import ZoneInfo

import jwt

from shared.events import CallEvent, parse_event
from shared.sources import callrail, twilio
from shared.sources.base import WebhookRequest

DATA = Path(__file__).parent / "samples"
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


def sample(
    source: str, started: datetime, base_url: str = "https://hooks.example.com", now: Any = None
) -> Sample:
    """The vendor's signed sample for a call that started at `started` (UTC, whole seconds)."""
    sent = now or started + timedelta(minutes=4)
    return _BUILDERS[source](started, base_url, sent)


def expected_event(source: str, started: datetime) -> CallEvent:
    """The call event each sample must become."""
    data = _EXPECTED[source](started)
    return parse_event({"source": source, **data}, "US")


def _template(name: str, **values: object) -> str:
    return Template((DATA / name).read_text()).substitute(values)


def _local(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")


def _callrail(started: datetime, base_url: str, sent: datetime) -> Sample:
    start = started.astimezone(ZoneInfo("America/New_York")).isoformat(timespec="milliseconds")
    body = _template("callrail_post_call.json", start_local=start).encode()
    headers = {
        "Content-Type": "application/json",
        "Signature": callrail.sign(SECRETS["callrail"], body),
    }
    return Sample("callrail", "POST", "/callrail/post_call", "", body, headers)


def _twilio(started: datetime, base_url: str, sent: datetime) -> Sample:
    end = format_datetime(started + timedelta(seconds=42))
    body = _template("twilio_completed.form", end_rfc2822=quote(end, safe="")).encode()
    path, query = "/twilio/status", "tenant=acme"
    signature = twilio.sign(
        SECRETS["twilio"], f"{base_url}{path}?{query}", parse_qsl(body.decode(), True)
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
    }
    return Sample("twilio", "POST", path, query, body, headers)


def _aircall(started: datetime, base_url: str, sent: datetime) -> Sample:
    start = int(started.timestamp())
    body = _template(
        "aircall_call_ended.json",
        sent_unix=int(sent.timestamp()),
        token=SECRETS["aircall"],
        start_unix=start,
        answered_unix=start + 8,
        end_unix=start + 187,
        duration=187,
    ).encode()
    return Sample("aircall", "POST", "/aircall", "", body, {"Content-Type": "application/json"})


def _ringcentral(started: datetime, base_url: str, sent: datetime) -> Sample:
    end = (started + timedelta(seconds=95)).isoformat(timespec="milliseconds")
    body = _template("ringcentral_disconnected.json", end_iso=end.replace("+00:00", "Z")).encode()
    headers = {"Content-Type": "application/json", "Verification-Token": SECRETS["ringcentral"]}
    return Sample("ringcentral", "POST", "/ringcentral", "", body, headers)


def _dialpad(started: datetime, base_url: str, sent: datetime) -> Sample:
    start_ms = int(started.timestamp()) * 1000
    claims = json.loads(
        _template(
            "dialpad_hangup.json",
            start_ms=start_ms,
            answered_ms=start_ms + 8000,
            end_ms=start_ms + 95000,
            talk_ms=87000,
            duration_ms=95000,
        )
    )
    claims["iat"] = int(sent.timestamp())
    body = jwt.encode(claims, SECRETS["dialpad"], algorithm="HS256").encode()
    return Sample("dialpad", "POST", "/dialpad", "", body, {"Content-Type": "application/jwt"})


def _ringostat(started: datetime, base_url: str, sent: datetime) -> Sample:
    body = _template("ringostat_after_call.json", start_local=_local(started, "Europe/Kyiv"))
    query = f"token={SECRETS['ringostat']}"
    headers = {"Content-Type": "application/json"}
    return Sample("ringostat", "POST", "/ringostat", query, body.encode(), headers)


def _uis(started: datetime, base_url: str, sent: datetime) -> Sample:
    body = _template(
        "uis_call_ended.json",
        start_local=_local(started, "Europe/Moscow"),
        end_local=_local(started + timedelta(seconds=63), "Europe/Moscow"),
    )
    query = f"token={SECRETS['uis']}"
    headers = {"Content-Type": "application/json"}
    return Sample("uis", "POST", "/uis/ended", query, body.encode(), headers)


def _calltouch(started: datetime, base_url: str, sent: datetime) -> Sample:
    fields = _template("calltouch_call_end.form", start_unix=int(started.timestamp()))
    query = f"{fields}&token={SECRETS['calltouch']}"
    return Sample("calltouch", "GET", "/calltouch", query, b"")


_BUILDERS = {
    "callrail": _callrail,
    "twilio": _twilio,
    "aircall": _aircall,
    "ringcentral": _ringcentral,
    "dialpad": _dialpad,
    "ringostat": _ringostat,
    "uis": _uis,
    "calltouch": _calltouch,
}

_EXPECTED: dict[str, Any] = {
    "callrail": lambda started: {
        "call_id": "CAL8154748ae6bd4e278a7cddd38a662f4f",
        "status": "answered",
        "started_at": started,
        "duration_s": 187,
        "caller": "+12015550123",
        "tracking_number": "+12015550188",
        "client_id": "1187654321.1730815900",
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "fall_storm_2024",
        "gclid": "EAIaIQobChMIdemo0001",
        "landing_page": "https://www.example.com/roof-repair?utm_source=google&gclid=EAIaIQobChMIdemo0001",
        "custom": {
            "source": "Google Ads",
            "source_name": "Google Ads",
            "medium": "cpc",
            "campaign": "Fall Storm 2024",
            "keywords": "emergency roof repair",
        },
    },
    "twilio": lambda started: {
        "call_id": "CA3b1f2d9a8c7e6f5d4c3b2a1908f7e6d5",
        "status": "answered",
        "started_at": started + timedelta(seconds=42),
        "duration_s": 42,
        "caller": "+12015550123",
        "tracking_number": "+12015550188",
    },
    "aircall": lambda started: {
        "call_id": "1947310234",
        "status": "answered",
        "started_at": started,
        "duration_s": 187,
        "talk_s": 179,
        "caller": "+12015550123",
        "tracking_number": "+12015550188",
    },
    "ringcentral": lambda started: {
        "call_id": "s-a0d7b5c3e2f14a6b9d8c7e6f5a4b3c2d",
        "status": "answered",
        "started_at": started + timedelta(seconds=95),
        "caller": "+12015550123",
        "tracking_number": "+12015550188",
    },
    "dialpad": lambda started: {
        "call_id": "6290382475853824",
        "status": "answered",
        "started_at": started,
        "duration_s": 95,
        "talk_s": 87,
        "caller": "+12015550123",
        "tracking_number": "+12015550188",
    },
    "ringostat": lambda started: {
        "call_id": "1730816292.48213",
        "status": "answered",
        "started_at": started,
        "duration_s": 112,
        "talk_s": 96,
        "caller": "+442079460123",
        "tracking_number": "+442079460001",
        "client_id": "1498823377.1730810044",
        "utm_source": "facebook",
        "utm_medium": "paid_social",
        "utm_campaign": "nov_leads",
        "custom": {"call_type": "in"},
    },
    "uis": lambda started: {
        "call_id": "3254187923",
        "status": "answered",
        "started_at": started,
        "duration_s": 63,
        "talk_s": 51,
        "caller": "+74955550123",
        "tracking_number": "+74955550188",
        "client_id": "1498823377.1730810044",
        "utm_source": "yandex",
        "utm_medium": "cpc",
        "utm_campaign": "brand",
        "custom": {"scenario_name": "Sales line", "call_source": "va"},
    },
    "calltouch": lambda started: {
        "call_id": "4517893",
        "status": "answered",
        "started_at": started,
        "duration_s": 64,
        "caller": "+79035550123",
        "tracking_number": "+74955550188",
        "client_id": "1498823377.1730810044",
        "utm_source": "yandex",
        "utm_medium": "cpc",
        "utm_campaign": "brand",
        "landing_page": "https://www.example.ru/",
        "custom": {"source": "yandex", "medium": "cpc", "ct_session_id": "912837465"},
    },
}
