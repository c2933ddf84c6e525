"""CallRail call webhooks as published, request by request and call by call.

Sources:
- [DOCS-VECTOR] CallRail API v3 docs, "Validating Payloads" (apidocs.callrail.com
  #validating-payloads): a voicemail call's webhook body with signing key
  072e77e426f92738a72fe23c4d1953b4 and Signature UZAHbUdfm3GqL7qzilGozGzWV64=; kept byte for
  byte in tests/data/vendors/callrail_docs_vector.json.
- [SUPPORT-WEBHOOKS] CallRail support, "Webhooks" (support.callrail.com/hc/en-us/articles/
  5711246459149): what each call trigger carries. Pre-call: answered=false, call_type=missed,
  duration=0, voicemail=false, first_call, resource_id, tracking_phone_number, start_time, …;
  call routing complete adds business_phone_number; post-call (inbound and outbound) carries
  everything else, up to 20 minutes after the call; call modified follows later changes.
- [API-WEBHOOKS] CallRail API v3 docs, "Webhooks" (apidocs.callrail.com/#webhooks), as
  transcribed in GitHub api-evangelist/callrail `asyncapi/callrail-webhooks.yml`: the call
  triggers pre-call, call routing complete, post-call, call modified, outbound post call,
  outbound call modified all send the call object; call modified adds a `changes` array
  (tags, note, value, transcription_text, call_summary, recording_duration, auto_score,
  manual_score).
- [ANSWER-STATUS] CallRail support, "Call answer status" (support.callrail.com/hc/en-us/
  articles/5712088951437): answered, missed (unanswered for 15 s, no voicemail), voicemail,
  outbound, and abandoned (the caller hung up within 15 s).
- [CRM-FIXTURES] real post-call bodies kept in public integration tests: GitHub
  wolfgodmessi12/CRM `spec/requests/integrations/callrail/v3/integrations_request_spec.rb`
  (an abandoned inbound call and an outbound call with answered sent as a string; both carry
  `spam`, `first_call`, `lead_status`, `value`, `recording`). Their fields are copied below.
The stage bodies are the documented fields of [SUPPORT-WEBHOOKS] over the [DOCS-VECTOR] call.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import permutations
from pathlib import Path
from typing import Any

import pytest

from shared.events import CallEvent, derive_qualification_id, parse_event
from shared.settings import Settings
from shared.sources import callrail
from shared.sources.base import WebhookRequest
from tests.contract.ledger import first_per_event_id

DOCS_KEY = "072e77e426f92738a72fe23c4d1953b4"
DOCS_SIGNATURE = "UZAHbUdfm3GqL7qzilGozGzWV64="
DOCS_BODY = (
    Path(__file__).parent.parent / "data" / "vendors" / "callrail_docs_vector.json"
).read_bytes()
DOCS_CALL: dict[str, Any] = json.loads(DOCS_BODY)
NOW = datetime(2018, 2, 19, 18, 45, tzinfo=UTC)
SETTINGS = Settings(webhook_secrets={"callrail": (DOCS_KEY,)})

# [DOCS-VECTOR] as the call event it is: CallRail's own example of a voicemail.
DOCS_EVENT = parse_event(
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
        "first_call": False,
        "lead_status": "previously_marked_good_lead",
        "recording_available": True,
        "custom": {"source_name": "Google AdWords", "lead_status": "previously_marked_good_lead"},
    },
    "US",
)
# [SUPPORT-WEBHOOKS] pre-call: only what is known when the call reaches CallRail.
PRE_CALL: dict[str, Any] = {
    name: DOCS_CALL[name]
    for name in (
        "company_id",
        "company_name",
        "company_time_zone",
        "created_at",
        "customer_city",
        "customer_country",
        "customer_name",
        "customer_phone_number",
        "customer_state",
        "direction",
        "first_call",
        "formatted_tracking_phone_number",
        "id",
        "prior_calls",
        "source_name",
        "start_time",
        "total_calls",
        "tracking_phone_number",
        "timestamp",
    )
} | {
    "answered": False,
    "call_type": "missed",
    "formatted_call_type": "Missed Call",
    "duration": 0,
    "formatted_duration": "0s",
    "voicemail": False,
}
# [SUPPORT-WEBHOOKS] call routing complete adds the number the call was routed to.
ROUTING_COMPLETE = PRE_CALL | {"business_phone_number": "+14045550100"}
# [API-WEBHOOKS] call modified: the call with the change applied, and what changed.
CALL_MODIFIED = DOCS_CALL | {"value": "250.00", "tags": ["booked"], "changes": ["value", "tags"]}
# [API-WEBHOOKS] call modified after someone marked the call a good lead: `lead_status` is a
# documented call field (values good_lead, not_a_lead, previously_marked_good_lead); that
# `changes` names it "lead_status" is NOT in CallRail's published member list and is assumed
# (docs/platforms/callrail.md, "Not confirmed from public sources").
LEAD_MARKED = DOCS_CALL | {
    "lead_status": "good_lead",
    "value": "250.00",
    "changes": ["lead_status", "value"],
}
# [CRM-FIXTURES] the abandoned inbound post-call body (fields that reach the call event).
ABANDONED: dict[str, Any] = {
    "answered": False,
    "business_phone_number": "+18022823191",
    "call_type": "abandoned",
    "created_at": "2022-12-13T16:54:58.563-05:00",
    "customer_phone_number": "+19494846382",
    "direction": "inbound",
    "duration": "15",
    "first_call": False,
    "formatted_duration": "(abandoned)",
    "lead_status": "",
    "recording": "",
    "source": "Unknown Source",
    "source_name": "Website Pool",
    "start_time": "2022-12-13T16:54:53.505-05:00",
    "tags": ["goodtag"],
    "tracking_phone_number": "+18023929680",
    "value": "",
    "voicemail": False,
    "keywords": "superasdf test",
    "spam": False,
    "callernum": "+19494846382",
    "trackingnum": "+18023929680",
    "destinationnum": "+18022823191",
    "timestamp": "2022-12-13T16:54:53.505-05:00",
    "resource_id": "CAL09c8a75d189149a482e881a9590ac1ba",
}
# [CRM-FIXTURES] the answered outbound post-call body: answered and first_call as strings.
OUTBOUND: dict[str, Any] = {
    "answered": "true",
    "business_phone_number": "+19494846382",
    "call_type": "outbound",
    "customer_phone_number": "+17144758933",
    "direction": "outbound",
    "duration": "0",
    "first_call": "false",
    "lead_status": "",
    "recording": "",
    "source": "Radio Ad",
    "source_name": "Radio Ad",
    "start_time": "2023-01-24T17:53:25.443-05:00",
    "tracking_phone_number": "+19493037465",
    "value": "",
    "voicemail": False,
    "keywords": "asdf",
    "medium": "direct",
    "utm_source": "offline",
    "utm_medium": "direct",
    "utm_campaign": "Radio Ad",
    "spam": False,
    "resource_id": "CALd093946bec9743b2a822cd4e4240a471",
}


def _request(call: dict[str, Any] | bytes, path: str = "") -> WebhookRequest:
    body = call if isinstance(call, bytes) else json.dumps(call, separators=(",", ":")).encode()
    return WebhookRequest(
        method="POST",
        subpath=path,
        query="",
        headers={"content-type": "application/json", "signature": callrail.sign(DOCS_KEY, body)},
        body=body,
        public_url="https://hooks.example.com/callrail" + path,
        received_at=NOW,
    )


def _published(requests: list[WebhookRequest]) -> list[CallEvent]:
    """What reaches destinations: the first event per event id (the ledger drops the rest)."""
    return first_per_event_id(_verified_events(request) for request in requests)


def _verified_events(request: WebhookRequest) -> Sequence[CallEvent]:
    callrail.verify(request, [DOCS_KEY])
    return callrail.parse(request, SETTINGS).events


def test_documented_example_with_its_published_signature_is_one_voicemail_event() -> None:
    # [DOCS-VECTOR]
    request = _request(DOCS_BODY, "/post_call")
    request = WebhookRequest(**{**request.__dict__, "headers": {"signature": DOCS_SIGNATURE}})

    callrail.verify(request, [DOCS_KEY])

    assert list(callrail.parse(request, SETTINGS).events) == [DOCS_EVENT]


def test_documented_example_at_the_bare_url_is_the_same_voicemail_event() -> None:
    # [DOCS-VECTOR] at the URL the docs page promised before stage paths existed.
    assert _published([_request(DOCS_BODY)]) == [DOCS_EVENT]


@pytest.mark.parametrize(
    ("body", "stage"), [(PRE_CALL, "pre_call"), (ROUTING_COMPLETE, "call_routing_complete")]
)
def test_in_progress_stages_at_the_bare_url_publish_nothing(
    body: dict[str, Any], stage: str
) -> None:
    # [SUPPORT-WEBHOOKS]: the placeholders answered=false, duration=0, call_type=missed.
    parsed = callrail.parse(_request(body), SETTINGS)

    assert parsed.events == []
    assert parsed.note == f"{stage} (told by its content) is not a call outcome; waiting"


def test_call_modified_at_the_bare_url_publishes_nothing() -> None:
    # [API-WEBHOOKS]: the `changes` array marks a later change of a call already reported.
    parsed = callrail.parse(_request(CALL_MODIFIED), SETTINGS)

    assert parsed.events == []
    assert parsed.note == (
        "call_modified (value, tags) changes a call already reported; acknowledged, not sent again"
    )


def test_call_modified_without_a_lead_status_change_ignores_what_lead_status_holds() -> None:
    # [API-WEBHOOKS]: `changes` names what changed; only a change it names is read, so another
    # field's oddity is not this change's.
    parsed = callrail.parse(_request(CALL_MODIFIED | {"lead_status": ["good_lead"]}), SETTINGS)

    assert (parsed.events, parsed.note) == (
        [],
        "call_modified (value, tags) changes a call already reported; acknowledged, not sent again",
    )


def test_call_modified_carries_the_later_qualification_it_will_send() -> None:
    # [API-WEBHOOKS]: read as a post-call, the modified call shows the new value and tags;
    # at its own path it is acknowledged (no lead status among its changes), so the call is
    # not counted twice.
    modified = CALL_MODIFIED.copy()
    del modified["changes"]

    (event,) = _published([_request(modified, "/post_call")])

    assert (event.event_id, event.value, event.lead_status) == (
        DOCS_EVENT.event_id,
        250.0,
        "previously_marked_good_lead",
    )


@pytest.mark.parametrize("path", ["/call_modified", "/outbound_call_modified", ""])
def test_call_modified_with_a_new_lead_status_is_one_qualification_of_the_call(path: str) -> None:
    (event,) = _published([_request(LEAD_MARKED, path)])

    assert event == parse_event(
        DOCS_EVENT.model_dump(exclude={"event_id", "lead_status", "custom"})
        | {
            "kind": "qualification",
            "qualified_at": NOW.isoformat(),
            "lead_status": "good_lead",
            "value": 250.0,
            "custom": {
                "source_name": "Google AdWords",
                "lead_status": "good_lead",
                "value": "250.00",
            },
        },
        "US",
    )
    assert event.event_id == derive_qualification_id("callrail", "766970532", "good_lead")
    assert event.event_id != DOCS_EVENT.event_id
    assert event.call_event_id == DOCS_EVENT.event_id


def test_post_call_then_qualification_then_its_retry_publish_the_call_and_one_qualification() -> (
    None
):
    # CallRail does not resend, but a sender's replay of the same body must stay one event.
    published = _published(
        [
            _request(DOCS_CALL, "/post_call"),
            _request(LEAD_MARKED, "/call_modified"),
            _request(LEAD_MARKED, "/call_modified"),
        ]
    )

    assert [(event.kind, event.lead_status) for event in published] == [
        ("call", "previously_marked_good_lead"),
        ("qualification", "good_lead"),
    ]


def test_a_later_not_a_lead_is_a_second_qualification_with_its_own_id() -> None:
    not_a_lead = LEAD_MARKED | {"lead_status": "not_a_lead", "changes": ["lead_status"]}

    published = _published(
        [_request(LEAD_MARKED, "/call_modified"), _request(not_a_lead, "/call_modified")]
    )

    assert [event.lead_status for event in published] == ["good_lead", "not_a_lead"]


@pytest.mark.parametrize(
    ("body", "changed"),
    [
        # Another documented change, while the call already has a lead status.
        (LEAD_MARKED | {"changes": ["tags", "note"]}, "tags, note"),
        # The status was cleared: nothing to qualify the call with.
        (LEAD_MARKED | {"lead_status": None}, "lead_status, value"),
        (LEAD_MARKED | {"lead_status": ""}, "lead_status, value"),
    ],
    ids=["other-change", "status-null", "status-empty"],
)
def test_call_modified_without_a_new_lead_status_publishes_nothing(
    body: dict[str, Any], changed: str
) -> None:
    parsed = callrail.parse(_request(body, "/call_modified"), SETTINGS)

    assert parsed.events == []
    assert parsed.note == (
        f"call_modified ({changed}) changes a call already reported; acknowledged, not sent again"
    )


@pytest.mark.parametrize(
    "order", list(permutations(range(4))), ids=lambda order: "-".join(map(str, order))
)
def test_every_stage_at_the_bare_url_in_any_order_publishes_the_post_call_outcome_once(
    order: tuple[int, ...],
) -> None:
    # [SUPPORT-WEBHOOKS] + [API-WEBHOOKS]: pre-call, routing complete, post-call and call
    # modified of one call, all pointed at /callrail. CallRail sends them in that order; any
    # order must still publish the post-call outcome and nothing else.
    stages = [PRE_CALL, ROUTING_COMPLETE, DOCS_CALL, CALL_MODIFIED]

    assert _published([_request(stages[index]) for index in order]) == [DOCS_EVENT]


@pytest.mark.parametrize(
    "order", list(permutations(range(4))), ids=lambda order: "-".join(map(str, order))
)
def test_every_stage_at_its_own_path_in_any_order_publishes_the_post_call_outcome_once(
    order: tuple[int, ...],
) -> None:
    stages = [
        _request(PRE_CALL, "/pre_call"),
        _request(ROUTING_COMPLETE, "/call_routing_complete"),
        _request(DOCS_CALL, "/post_call"),
        _request(CALL_MODIFIED, "/call_modified"),
    ]

    assert _published([stages[index] for index in order]) == [DOCS_EVENT]


def test_abandoned_call_is_missed_with_its_lead_signals() -> None:
    # [CRM-FIXTURES] + [ANSWER-STATUS]: the caller hung up within 15 s; nobody talked.
    assert _published([_request(ABANDONED)]) == [
        parse_event(
            {
                "source": "callrail",
                "call_id": "CAL09c8a75d189149a482e881a9590ac1ba",
                "status": "missed",
                "direction": "inbound",
                "started_at": "2022-12-13T16:54:53.505-05:00",
                "duration_s": 15,
                "caller": "+19494846382",
                "tracking_number": "+18023929680",
                "first_call": False,
                "spam": False,
                "recording_available": False,
                "custom": {
                    "source": "Unknown Source",
                    "source_name": "Website Pool",
                    "keywords": "superasdf test",
                },
            },
            "US",
        )
    ]


def test_outbound_call_is_the_customers_number_called_from_the_tracking_number() -> None:
    # [CRM-FIXTURES]: business_phone_number is the agent's line, never the caller.
    assert _published([_request(OUTBOUND, "/outbound_post_call")]) == [
        parse_event(
            {
                "source": "callrail",
                "call_id": "CALd093946bec9743b2a822cd4e4240a471",
                "status": "answered",
                "direction": "outbound",
                "started_at": "2023-01-24T17:53:25.443-05:00",
                "duration_s": 0,
                "caller": "+17144758933",
                "tracking_number": "+19493037465",
                "utm_source": "offline",
                "utm_medium": "direct",
                "utm_campaign": "Radio Ad",
                "first_call": False,
                "spam": False,
                "recording_available": False,
                "custom": {
                    "source": "Radio Ad",
                    "source_name": "Radio Ad",
                    "medium": "direct",
                    "keywords": "asdf",
                },
            },
            "US",
        )
    ]


def test_call_marked_spam_is_published_with_its_flag() -> None:
    # [CRM-FIXTURES] carry `spam`; CallRail's Update Call API sets it. Dispatch skips it.
    (event,) = _published([_request(ABANDONED | {"spam": True})])

    assert event.spam is True
