"""twilio: the requests a real call sends, per scenario, and the call events they must give.

The customer calls the Twilio number; its TwiML greets them, then `<Dial action="…/twilio/dial">`
rings one agent or several `<Number statusCallback="…/twilio/leg">`s at once; the number's
Status Callback URL is `…/twilio/status`. Field names come from Twilio's docs: the <Dial>
action (twilio.com/docs/voice/twiml/dial#action), status callbacks
(twilio.com/docs/voice/api/call-resource#statuscallback), recording status callbacks (same
page) and answering machine detection (twilio.com/docs/voice/answering-machine-detection).

`sent` is when the call ended: Twilio fires the Dial action and the `completed` callbacks then.
The expected events assume the default `sent` (four minutes after `started`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, quote

from shared.sources import twilio
from tools.scenarios.common import SECRETS, Sample, Scenarios, template

NAME = "twilio"
CALL_SID = "CA3b1f2d9a8c7e6f5d4c3b2a1908f7e6d5"
CUSTOMER = "+12015550123"
TWILIO_NUMBER = "+12015550188"
AGENTS = ("+12015550141", "+12015550142", "+12015550143")
LEG_SIDS = (
    "CA0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "CA1b2c3d4e5f60718293a4b5c6d7e8f9a0",
    "CA2c3d4e5f60718293a4b5c6d7e8f9a0b1",
)
TALK_S = 95
# The default `sent` of tools.scenarios.build_requests: when the call ended.
ENDED_AFTER = timedelta(minutes=4)
_QUERY = "tenant=acme&utm_source=google&utm_medium=cpc&gclid=EAIaIQobChMI8x"
_ATTRIBUTION = {"utm_source": "google", "utm_medium": "cpc", "gclid": "EAIaIQobChMI8x"}


def _signed(base_url: str, path: str, body: str) -> Sample:
    params = parse_qsl(body, keep_blank_values=True)
    signature = twilio.sign(SECRETS[NAME], f"{base_url}{path}?{_QUERY}", params)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
    }
    return Sample(NAME, "POST", path, _QUERY, body.encode(), headers)


def _rfc2822(moment: datetime) -> str:
    return quote(format_datetime(moment), safe="")


def _minutes(seconds: int) -> int:
    return -(-seconds // 60)  # `Duration` is billed minutes, rounded up


def dial_action(base_url: str, status: str, talk_s: int, dialled: str = LEG_SIDS[0]) -> Sample:
    """The <Dial> action request: the dial's outcome, on the customer's call."""
    body = template(
        "twilio_dial_action.form",
        call_sid=CALL_SID,
        # The customer is still on the line when the agent hangs up: TwiML continues.
        call_status="in-progress",
        bridged="true" if status == "completed" else "false",
        dial_duration=talk_s,
        dial_call_sid=dialled,
        dial_status=status,
    )
    return _signed(base_url, "/twilio/dial", body)


def dialled_leg(base_url: str, leg: int, status: str, talk_s: int, fired: datetime) -> Sample:
    """A <Number statusCallback> request: one agent's leg ended."""
    body = template(
        "twilio_dialled_leg.form",
        call_duration=talk_s,
        call_sid=LEG_SIDS[leg],
        call_status=status,
        agent=quote(AGENTS[leg], safe=""),
        minutes=_minutes(talk_s),
        parent_call_sid=CALL_SID,
        sequence=1,
        timestamp=_rfc2822(fired),
    )
    return _signed(base_url, "/twilio/leg", body)


def customer_call_completed(base_url: str, started: datetime, ended: datetime) -> Sample:
    """The number's Status Callback: the customer's call ended (CallStatus completed)."""
    seconds = int((ended - started).total_seconds())
    body = template(
        "twilio_completed.form",
        call_duration=seconds,
        minutes=_minutes(seconds),
        timestamp=_rfc2822(ended),
    )
    return _signed(base_url, "/twilio/status", body)


def api_call_completed(base_url: str, answered_by: str, seconds: int, ended: datetime) -> Sample:
    """The status callback of a call placed through the Calls API with AMD enabled."""
    body = template(
        "twilio_api_call.form",
        answered_by=answered_by,
        call_duration=seconds,
        minutes=_minutes(seconds),
        timestamp=_rfc2822(ended),
    )
    return _signed(base_url, "/twilio/status", body)


def recording_status(base_url: str, seconds: int) -> Sample:
    """A recordingStatusCallback for the message the customer left after a missed dial."""
    body = template("twilio_recording_status.form", recording_duration=seconds)
    return _signed(base_url, "/twilio/recording", body)


def inbound_event(started: datetime, **changes: Any) -> dict[str, Any]:
    """The event of the customer's call, as the <Dial> action gives it."""
    event: dict[str, Any] = {
        "call_id": CALL_SID,
        "status": "answered",
        "direction": "inbound",
        # The agent picked up TALK_S seconds before the call ended.
        "started_at": started + ENDED_AFTER - timedelta(seconds=TALK_S),
        "talk_s": TALK_S,
        "caller": CUSTOMER,
        "tracking_number": TWILIO_NUMBER,
        **_ATTRIBUTION,
    }
    return {**event, **changes}


def _answered(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # <Dial action> rings one agent, who answers; the Dial action is the call's outcome.
    return [dial_action(base_url, "completed", TALK_S)]


def _answered_events(started: datetime) -> list[dict[str, Any]]:
    return [inbound_event(started)]


def _missed(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # The agent does not pick up before the <Dial timeout>; then the customer hangs up.
    return [dial_action(base_url, "no-answer", 0), customer_call_completed(base_url, started, sent)]


def _missed_events(started: datetime) -> list[dict[str, Any]]:
    return [inbound_event(started, status="missed", started_at=started + ENDED_AFTER, talk_s=None)]


def _voicemail(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # The action's TwiML then <Record>s a message. Nothing in the Dial action says so, and it
    # comes first: the call is published as missed; the recording callback is acknowledged.
    return [
        dial_action(base_url, "no-answer", 0),
        recording_status(base_url, 21),
        customer_call_completed(base_url, started, sent),
    ]


def _multi_leg(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # Three <Number>s ring at once; the second agent answers and Twilio hangs up the others
    # (twilio.com/docs/voice/twiml/number). Their final CallStatus is not documented
    # (canceled here; no-answer is read the same way).
    answered_at = sent - timedelta(seconds=TALK_S)
    return [
        dialled_leg(base_url, 0, "canceled", 0, answered_at),
        dialled_leg(base_url, 2, "canceled", 0, answered_at),
        dial_action(base_url, "completed", TALK_S, dialled=LEG_SIDS[1]),
        dialled_leg(base_url, 1, "completed", TALK_S, sent),
        customer_call_completed(base_url, started, sent),
    ]


def _ivr_hangup(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # The customer hangs up in the IVR before any <Dial>: only the customer's call completes,
    # which cannot tell an IVR from a conversation, so nothing is published.
    return [customer_call_completed(base_url, started, sent)]


def _outbound_api(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # A call placed through the Calls API with MachineDetection; a person picks up.
    return [api_call_completed(base_url, "human", TALK_S, sent)]


def _outbound_events(started: datetime, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "call_id": "CA7d2e4f6a8b0c1d3e5f7a9b1c3d5e7f90",
        "status": "answered",
        "direction": "outbound",
        "started_at": started + ENDED_AFTER - timedelta(seconds=TALK_S),
        "duration_s": TALK_S,
        "talk_s": TALK_S,
        "caller": CUSTOMER,
        "tracking_number": TWILIO_NUMBER,
        **_ATTRIBUTION,
    }
    return {**event, **changes}


def _outbound_machine(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # AMD hears an answering machine's greeting end with a beep.
    return [api_call_completed(base_url, "machine_end_beep", 24, sent)]


# scenario name → (the requests in arrival order, the events they must publish)
SCENARIOS: Scenarios = {
    "answered": (_answered, _answered_events),
    "missed": (_missed, _missed_events),
    "voicemail": (_voicemail, _missed_events),
    "multi-leg": (_multi_leg, _answered_events),
    "ivr-hangup": (_ivr_hangup, lambda started: []),
    "outbound-api": (_outbound_api, lambda started: [_outbound_events(started)]),
    "outbound-voicemail": (
        _outbound_machine,
        lambda started: [
            _outbound_events(
                started,
                status="voicemail",
                started_at=started + ENDED_AFTER - timedelta(seconds=24),
                duration_s=24,
                talk_s=None,
            )
        ],
    ),
}
