"""CallRail: the published signature known answer, event paths, and field quirks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.errors import BadSignature
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


@pytest.mark.parametrize("event", ["pre_call", "call_routing_complete"])
def test_in_progress_events_are_acknowledged_without_events(event: str) -> None:
    parsed = callrail.parse(_request(subpath=f"/{event}"), SETTINGS)

    assert parsed.events == []
    assert parsed.note == f"{event} is not a call outcome; waiting for post_call"


@pytest.mark.parametrize("event", ["call_modified", "outbound_call_modified"])
def test_later_changes_are_acknowledged_naming_what_changed(event: str) -> None:
    # The changed values come applied to the call; `changes` lists them (CallRail API docs,
    # "Webhooks" → Call Modified).
    body = json.dumps({**json.loads(DOCS_BODY), "changes": ["value", "tags"]}).encode()

    parsed = callrail.parse(_request(body, subpath=f"/{event}"), SETTINGS)

    assert parsed.events == []
    assert parsed.note == (
        f"{event} (value, tags) changes a call already reported; acknowledged, not sent again"
    )


def test_change_names_that_are_not_field_names_are_left_out_of_the_note() -> None:
    changes = ["value", "+1 214 865 4559", 7, "x" * 80]
    body = json.dumps({**json.loads(DOCS_BODY), "changes": changes}).encode()

    parsed = callrail.parse(_request(body, subpath="/call_modified"), SETTINGS)

    assert parsed.note == (
        "call_modified (value) changes a call already reported; acknowledged, not sent again"
    )


def test_pre_call_placeholders_at_the_bare_url_publish_nothing() -> None:
    # Pre-call carries answered=false, voicemail=false, duration=0, call_type=missed
    # (CallRail support, "Webhooks": information sent with webhooks).
    pre_call = {
        **json.loads(DOCS_BODY),
        "answered": False,
        "voicemail": False,
        "duration": 0,
        "call_type": "missed",
        "business_phone_number": "",
    }

    parsed = callrail.parse(_request(json.dumps(pre_call).encode(), subpath=""), SETTINGS)

    assert parsed.events == []
    assert parsed.note == "pre_call (told by its content) is not a call outcome; waiting"


def test_an_unanswered_inbound_call_with_a_duration_at_the_bare_url_is_a_missed_call() -> None:
    post_call = {**json.loads(DOCS_BODY), "voicemail": False, "call_type": "missed"}

    parsed = callrail.parse(_request(json.dumps(post_call).encode(), subpath=""), SETTINGS)

    assert [(event.status, event.duration_s) for event in parsed.events] == [("missed", 13)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("350.00", 350.0), ("75", 75.0), (120, 120.0), ("", None), ("--", None), ("-5", None)],
)
def test_call_value_is_taken_only_as_a_plain_non_negative_amount(
    value: object, expected: float | None
) -> None:
    body = json.dumps({**json.loads(DOCS_BODY), "value": value}).encode()

    event = callrail.parse(_request(body), SETTINGS).events[0]

    assert (event.value, event.currency) == (expected, None)


def test_recording_url_becomes_only_its_presence() -> None:
    without = json.dumps({**json.loads(DOCS_BODY), "recording": ""}).encode()

    recorded = callrail.parse(_request(), SETTINGS).events[0]
    not_recorded = callrail.parse(_request(without), SETTINGS).events[0]

    assert (recorded.recording_available, not_recorded.recording_available) == (True, False)
    assert "app.callrail.com" not in recorded.model_dump_json()


def test_webhook_without_an_event_path_counts_as_post_call() -> None:
    assert len(callrail.parse(_request(subpath=""), SETTINGS).events) == 1


def test_answered_sent_as_the_string_false_is_a_missed_call() -> None:
    call = {**json.loads(DOCS_BODY), "answered": "false", "voicemail": "false"}

    parsed = callrail.parse(_request(json.dumps(call).encode()), SETTINGS)

    assert parsed.events[0].status == "missed"


def test_signature_with_surrounding_whitespace_in_the_body_is_rejected() -> None:
    with pytest.raises(BadSignature):
        callrail.verify(_request(body=DOCS_BODY + b"\n", signature=DOCS_SIGNATURE), [DOCS_KEY])
