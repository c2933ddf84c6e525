"""CallRail: the published signature known answer, event paths, and field quirks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.errors import BadSignature
from shared.events import parse_event
from shared.settings import Settings
from shared.sources import callrail
from shared.sources.base import WebhookRequest

# CallRail's "Validating Payloads" known answer (../shared/reference/vendor-webhooks.md §3).
DOCS_KEY = "072e77e426f92738a72fe23c4d1953b4"
DOCS_SIGNATURE = "UZAHbUdfm3GqL7qzilGozGzWV64="
DOCS_BODY = (
    Path(__file__).parent.parent / "data" / "vendors" / "callrail_docs_vector.json"
).read_bytes()
NOW = datetime(2018, 2, 19, 18, 45, tzinfo=UTC)
SETTINGS = Settings(webhook_secrets={"callrail": (DOCS_KEY,)})


def _request(
    body: bytes = DOCS_BODY, subpath: str = "/post_call", signature: str | None = None
) -> WebhookRequest:
    return WebhookRequest(
        method="POST",
        subpath=subpath,
        query="",
        headers={
            "content-type": "application/json",
            "signature": callrail.sign(DOCS_KEY, body) if signature is None else signature,
        },
        body=body,
        public_url="https://hooks.example.com/callrail" + subpath,
        received_at=NOW,
    )


def test_sign_gives_callrails_published_known_answer() -> None:
    assert callrail.sign(DOCS_KEY, DOCS_BODY) == DOCS_SIGNATURE


def test_published_known_answer_verifies() -> None:
    callrail.verify(_request(signature=DOCS_SIGNATURE), [DOCS_KEY])


def test_published_sample_is_a_voicemail_event() -> None:
    parsed = callrail.parse(_request(), SETTINGS)

    assert list(parsed.events) == [
        parse_event(
            {
                "source": "callrail",
                "call_id": "766970532",
                "status": "voicemail",
                "direction": "inbound",
                "started_at": "2018-02-19T13:41:00.236-05:00",
                "duration_s": 13,
                "caller": "+12148654559",
                "tracking_number": "+14045558514",
                "utm_source": "google",
                "utm_medium": "cpc",
                "utm_campaign": "Google AdWords",
                "custom": {
                    "source_name": "Google AdWords",
                    "lead_status": "previously_marked_good_lead",
                },
            },
            "US",
        )
    ]


@pytest.mark.parametrize("event", ["pre_call", "call_routing_complete", "call_modified"])
def test_non_outcome_events_are_acknowledged_without_events(event: str) -> None:
    parsed = callrail.parse(_request(subpath=f"/{event}"), SETTINGS)

    assert parsed.events == []
    assert parsed.note == f"{event} is not a call outcome; waiting for post_call"


def test_webhook_without_an_event_path_counts_as_post_call() -> None:
    assert len(callrail.parse(_request(subpath=""), SETTINGS).events) == 1


def test_answered_sent_as_the_string_false_is_a_missed_call() -> None:
    call = {**json.loads(DOCS_BODY), "answered": "false", "voicemail": "false"}

    parsed = callrail.parse(_request(json.dumps(call).encode()), SETTINGS)

    assert parsed.events[0].status == "missed"


def test_signature_with_surrounding_whitespace_in_the_body_is_rejected() -> None:
    with pytest.raises(BadSignature):
        callrail.verify(_request(body=DOCS_BODY + b"\n", signature=DOCS_SIGNATURE), [DOCS_KEY])
