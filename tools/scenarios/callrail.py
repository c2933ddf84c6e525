"""callrail: the requests a real call sends, per scenario, and the call events they must give.

One CallRail call is one record (`resource_id`, CAL…) whatever its call flow does: ringing
several agents, a round robin or a transfer all stay inside that record, and CallRail reports it
in stages (pre-call, call routing complete, post-call, then call modified for later changes),
not in legs. The multi-leg scenarios are therefore those stages of one call.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared.sources import callrail
from tools.scenarios.common import SECRETS, Sample, Scenarios, template

NAME = "callrail"
CALL_ID = "CAL8154748ae6bd4e278a7cddd38a662f4f"
_COMPANY_ZONE = ZoneInfo("America/New_York")
_ATTRIBUTION: dict[str, Any] = {
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
}
# A missed or voicemail call has no recording of a conversation and no agent line yet.
_UNANSWERED: dict[str, Any] = {
    "answered": False,
    "recording": "",
    "recording_duration": "",
    "recording_player": "",
}


def _local(moment: datetime) -> str:
    return moment.astimezone(_COMPANY_ZONE).isoformat(timespec="milliseconds")


def post_call_body(started: datetime, **changes: Any) -> dict[str, Any]:
    """The post-call body of the demo call, with some fields changed."""
    return {
        **json.loads(template("callrail_post_call.json", start_local=_local(started))),
        **changes,
    }


def pre_call_body(started: datetime, **changes: Any) -> dict[str, Any]:
    """The pre-call body of the demo call (the documented in-progress placeholders)."""
    return {
        **json.loads(template("callrail_pre_call.json", start_local=_local(started))),
        **changes,
    }


def signed(path: str, body: dict[str, Any]) -> Sample:
    """A CallRail request to `path` carrying `body`, signed with the development key."""
    raw = json.dumps(body, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "Signature": callrail.sign(SECRETS[NAME], raw)}
    return Sample(NAME, "POST", path, "", raw, headers)


def _answered(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    return [signed("/callrail/post_call", post_call_body(started))]


def _answered_events(started: datetime) -> list[dict[str, Any]]:
    return [
        {
            "call_id": CALL_ID,
            "status": "answered",
            "started_at": started,
            "duration_s": 187,
            "caller": "+12015550123",
            "tracking_number": "+12015550188",
            "first_call": True,
            "spam": False,
            "recording_available": True,
            **_ATTRIBUTION,
        }
    ]


def _missed(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # Rang out for 24 s with nobody picking up, sent to the bare URL: told apart by content.
    body = post_call_body(
        started, **_UNANSWERED, call_type="missed", duration="24", formatted_duration="24s"
    )
    return [signed("/callrail", body)]


def _missed_events(started: datetime) -> list[dict[str, Any]]:
    return [
        {
            **_answered_events(started)[0],
            "status": "missed",
            "duration_s": 24,
            "recording_available": False,
        }
    ]


def _voicemail(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    body = post_call_body(
        started,
        answered=False,
        voicemail=True,
        call_type="voicemail",
        duration="41",
        recording_duration="22",
    )
    return [signed("/callrail/post_call", body)]


def _voicemail_events(started: datetime) -> list[dict[str, Any]]:
    return [{**_answered_events(started)[0], "status": "voicemail", "duration_s": 41}]


def _stages(started: datetime, paths: dict[str, str]) -> list[Sample]:
    routed = pre_call_body(
        started,
        business_phone_number="+12015550100",
        formatted_business_phone_number="201-555-0100",
    )
    # Call modified: CallRail applies the change to the call and lists the changed fields.
    modified = post_call_body(
        started, value="350.00", tags=["roof-repair"], changes=["value", "tags"]
    )
    return [
        signed(paths["pre_call"], pre_call_body(started)),
        signed(paths["call_routing_complete"], routed),
        signed(paths["post_call"], post_call_body(started)),
        signed(paths["call_modified"], modified),
    ]


def _multi_leg(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # Every call trigger pointed at the bare /callrail URL.
    return _stages(
        started, dict.fromkeys(callrail.ACKNOWLEDGED_EVENTS | {"post_call"}, "/callrail")
    )


def _stages_by_path(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    names = callrail.ACKNOWLEDGED_EVENTS | {"post_call"}
    return _stages(started, {name: f"/callrail/{name}" for name in names})


def _abandoned(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # The caller hung up within 15 s: CallRail's "abandoned" call, a missed call to us.
    body = post_call_body(
        started,
        **_UNANSWERED,
        call_type="abandoned",
        duration="9",
        formatted_duration="(abandoned)",
    )
    return [signed("/callrail", pre_call_body(started)), signed("/callrail", body)]


def _abandoned_events(started: datetime) -> list[dict[str, Any]]:
    return [{**_missed_events(started)[0], "duration_s": 9}]


def _outbound(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # An agent calls the customer back from the tracking number; CallRail sends "answered" as
    # a string on outbound calls.
    body = post_call_body(
        started,
        answered="true",
        direction="outbound",
        call_type="outbound",
        duration="95",
        first_call="false",
        recording="",
    )
    return [signed("/callrail/outbound_post_call", body)]


def _outbound_events(started: datetime) -> list[dict[str, Any]]:
    return [
        {
            **_answered_events(started)[0],
            "direction": "outbound",
            "duration_s": 95,
            "first_call": False,
            "recording_available": False,
        }
    ]


def _spam(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    return [signed("/callrail/post_call", post_call_body(started, spam=True, duration="12"))]


def _spam_events(started: datetime) -> list[dict[str, Any]]:
    # Published with its flag; dispatch sends it nowhere unless SEND_SPAM is on.
    return [{**_answered_events(started)[0], "duration_s": 12, "spam": True}]


def _lead_qualified(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    body = post_call_body(
        started, lead_status="good_lead", value="350.00", duration="210", first_call=False
    )
    return [signed("/callrail/post_call", body)]


def _lead_qualified_events(started: datetime) -> list[dict[str, Any]]:
    base = _answered_events(started)[0]
    return [
        {
            **base,
            "duration_s": 210,
            "first_call": False,
            "lead_status": "good_lead",
            "value": 350.0,
            "custom": {**base["custom"], "lead_status": "good_lead", "value": "350.00"},
        }
    ]


def _lead_qualified_later(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # The call is reported at post-call; days later someone marks it a good lead and CallRail
    # sends call modified with the status applied and named in `changes`.
    marked = post_call_body(
        started, lead_status="good_lead", value="350.00", changes=["lead_status", "value"]
    )
    return [
        signed("/callrail/post_call", post_call_body(started)),
        signed("/callrail/call_modified", marked),
    ]


def _lead_qualified_later_events(started: datetime) -> list[dict[str, Any]]:
    call = _answered_events(started)[0]
    qualification = {
        **call,
        "kind": "qualification",
        "lead_status": "good_lead",
        "value": 350.0,
        "custom": {**call["custom"], "lead_status": "good_lead", "value": "350.00"},
        # Ingest sets the request's arrival time, which a scenario cannot know in advance; the
        # event id (source, call id, lead status) does not depend on it, and the end-to-end test
        # compares ids. Whole-event comparisons set the received time (contract tests).
        "qualified_at": started.isoformat(),
    }
    return [call, qualification]


# scenario name → (the requests in arrival order, the events they must publish)
SCENARIOS: Scenarios = {
    "answered": (_answered, _answered_events),
    "missed": (_missed, _missed_events),
    "voicemail": (_voicemail, _voicemail_events),
    "multi-leg": (_multi_leg, _answered_events),
    "stages-by-path": (_stages_by_path, _answered_events),
    "abandoned": (_abandoned, _abandoned_events),
    "outbound": (_outbound, _outbound_events),
    "lead-qualified": (_lead_qualified, _lead_qualified_events),
    "spam": (_spam, _spam_events),
    "lead-qualified-later": (_lead_qualified_later, _lead_qualified_later_events),
}
