"""ringcentral: the requests a real call sends, per scenario, and the call events they must give.

A telephony session sends one notification per party state change, each carrying that party
only, modelled on RingCentral's published traces (ringcentral-api-docs
`docs/voice/telephony-session-notifications.md` links dibyenduroy/csn-data
`PSTN-RingCentral-DataStreams.txt` and `RingCentral-PSTN.txt`): the customer's party has no
`extensionId` and, on an inbound call, the direction `Outbound`; its `Answered` only means a
destination (IVR, queue, user) was reached. The account-level subscription
(`/restapi/v1.0/account/~/telephony/sessions`) sees every party; the extension-level one only
the user's own. Expected events are the first one each call publishes, the one the delivery
ledger keeps, except where the last request also publishes the same outcome (see `_answered`).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from tools.scenarios.common import SECRETS, Sample, Scenarios, template

NAME = "ringcentral"
ACCOUNT = "1234567008"  # also the admin who created the account-level subscription
USER = "1234567009"  # a sales rep with a direct number; owner of the extension-level one
IVR = "1234567101"
QUEUE = "1234567201"
AGENTS = ("1234567301", "1234567302", "1234567303")
CUSTOMER = "+12015550123"
LINE = "+12015550188"


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _customer_party(session: str, code: str, **extra: Any) -> dict[str, Any]:
    """The caller's PSTN party on an inbound call: no extensionId, direction `Outbound`."""
    return {
        "accountId": ACCOUNT,
        "id": f"p-{session}-1",
        "direction": "Outbound",
        "to": {"phoneNumber": LINE},
        "from": {"phoneNumber": CUSTOMER},
        "status": {"code": code, "rcc": False},
        "missedCall": False,
        "standAlone": False,
        "muted": False,
        **extra,
    }


def _business_party(
    session: str, number: int, extension: str, name: str, code: str, **extra: Any
) -> dict[str, Any]:
    """A party of ours (user, IVR menu, queue) on an inbound call: it has an extensionId."""
    status = {"code": code, "rcc": False, **extra.pop("status", {})}
    return {
        "accountId": ACCOUNT,
        "extensionId": extension,
        "id": f"p-{session}-{number}",
        "direction": "Inbound",
        "to": {"phoneNumber": LINE, "name": name, "extensionId": extension},
        "from": {"phoneNumber": CUSTOMER, "name": "WIRELESS CALLER"},
        "status": status,
        "park": {},
        "missedCall": False,
        "standAlone": False,
        "muted": False,
        **extra,
    }


def notification(
    session: str,
    sequence: int,
    moment: datetime,
    party: dict[str, Any],
    owner: str = ACCOUNT,
) -> Sample:
    """One signed notification carrying one party, as RingCentral posts it."""
    extension = party.get("extensionId")
    body = template(
        "ringcentral_session.json",
        uuid=f"{int(moment.timestamp() * 1000)}{sequence:03d}",
        scope=f"/extension/{extension}" if extension else "",
        timestamp=_timestamp(moment + timedelta(milliseconds=60)),
        owner=owner,
        sequence=sequence,
        session_id=f"4503991{sequence:03d}",
        telephony_session_id=session,
        event_time=_timestamp(moment),
        parties=json.dumps([party]),
    ).encode()
    headers = {"Content-Type": "application/json", "Verification-Token": SECRETS[NAME]}
    return Sample(NAME, "POST", "/ringcentral", "", body, headers)


def _event(session: str, moment: datetime, status: str = "answered") -> dict[str, Any]:
    return {
        "call_id": session,
        "status": status,
        "direction": "inbound",
        "started_at": moment,
        "caller": CUSTOMER,
        "tracking_number": LINE,
    }


# -- answered: a customer dials the rep's direct number; extension-level subscription ------

ANSWERED_ID = "s-a0d7b5c3e2f14a6b9d8c7e6f5a4b3c2d"


def _direct(
    session: str, started: datetime, codes: list[tuple[int, str, dict[str, Any]]]
) -> list[Sample]:
    return [
        notification(
            session,
            sequence,
            started + timedelta(seconds=seconds),
            _business_party(session, 2, USER, "Sales", code, **extra),
            owner=USER,
        )
        for sequence, (seconds, code, extra) in enumerate(codes, start=2)
    ]


def _answered(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    return _direct(
        ANSWERED_ID,
        started,
        [(0, "Setup", {}), (1, "Proceeding", {}), (8, "Answered", {}), (95, "Disconnected", {})],
    )


def _answered_events(started: datetime) -> list[dict[str, Any]]:
    # `Answered` (+8 s) publishes first; the rep's own party leaving unmissed (+95 s) publishes
    # the same outcome again, with its own time. The last request is the platform's sample, so
    # the event listed is the one it gives; the ledger delivers one of them.
    return [_event(ANSWERED_ID, started + timedelta(seconds=95))]


# -- missed: the direct number rings out; RingCentral marks the rep's party missedCall ----

MISSED_ID = "s-b1e8c6d4f3a25b7cae9d8f7a6b5c4d3e"


def _missed(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    return _direct(
        MISSED_ID,
        started,
        [(0, "Setup", {}), (1, "Proceeding", {}), (31, "Disconnected", {"missedCall": True})],
    )


def _missed_events(started: datetime) -> list[dict[str, Any]]:
    return [_event(MISSED_ID, started + timedelta(seconds=31), "missed")]


# -- voicemail: no answer, the call handling rules send the caller to the rep's mailbox ---

VOICEMAIL_ID = "s-c2f9d7e5a4b36c8dbfae9a8b7c6d5e4f"


def _voicemail(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    return _direct(
        VOICEMAIL_ID,
        started,
        [
            (0, "Setup", {}),
            (1, "Proceeding", {}),
            (21, "VoiceMail", {}),
            # The VoiceMail state publishes nothing: this disconnect, marked missed, is the
            # outcome (a voicemail is reported as missed: see shared/sources/ringcentral.py).
            (61, "Disconnected", {"missedCall": True}),
        ],
    )


def _voicemail_events(started: datetime) -> list[dict[str, Any]]:
    return [_event(VOICEMAIL_ID, started + timedelta(seconds=61), "missed")]


# -- multi-leg: IVR → call queue → three agents ring, the second answers (account level) --

MULTI_LEG_ID = "s-d3a0e8f6b5c47d9ec0bf0b9c8d7e6f5a"


def multi_leg(started: datetime) -> list[Sample]:
    """The whole session in the order RingCentral numbers it (`sequence`)."""
    s, at = MULTI_LEG_ID, started
    agent = [
        (number, extension, f"Agent {index}")
        for index, (number, extension) in enumerate(zip((4, 5, 6), AGENTS, strict=True), start=1)
    ]
    parties: list[tuple[int, dict[str, Any]]] = [
        (0, _customer_party(s, "Setup")),
        (0, _business_party(s, 2, IVR, "IVR Menu 1001", "Setup")),
        (1, _customer_party(s, "Answered")),  # the IVR picked up: no person yet
        (
            9,
            _business_party(
                s, 2, IVR, "IVR Menu 1001", "Disconnected", status={"reason": "CallerInputRedirect"}
            ),
        ),
        (9, _business_party(s, 3, QUEUE, "Support Queue", "Setup")),
        *[
            (10, _business_party(s, n, e, name, "Proceeding", queueCall=True))
            for n, e, name in agent
        ],
        (16, _business_party(s, 5, AGENTS[1], "Agent 2", "Answered", queueCall=True)),
        (
            16,
            _business_party(
                s, 4, AGENTS[0], "Agent 1", "Disconnected", queueCall=True, missedCall=True
            ),
        ),
        (
            16,
            _business_party(
                s, 6, AGENTS[2], "Agent 3", "Disconnected", queueCall=True, missedCall=True
            ),
        ),
        (
            16,
            _business_party(
                s, 3, QUEUE, "Support Queue", "Disconnected", status={"reason": "AgentAnswered"}
            ),
        ),
        (140, _business_party(s, 5, AGENTS[1], "Agent 2", "Disconnected", queueCall=True)),
        (140, _customer_party(s, "Disconnected")),
    ]
    return [
        notification(s, sequence, at + timedelta(seconds=seconds), party)
        for sequence, (seconds, party) in enumerate(parties, start=2)
    ]


def _multi_leg(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    return multi_leg(started)


def _multi_leg_events(started: datetime) -> list[dict[str, Any]]:
    return [_event(MULTI_LEG_ID, started + timedelta(seconds=16))]


# -- ivr-hangup: the caller listens to the IVR menu and hangs up (account level) ----------

IVR_HANGUP_ID = "s-e4b1f9a7c6d58eafd1c0a1b0c9d8e7f6"


def _ivr_hangup(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    s = IVR_HANGUP_ID
    parties = [
        (0, _customer_party(s, "Setup")),
        (0, _business_party(s, 2, IVR, "IVR Menu 1001", "Setup")),
        (1, _customer_party(s, "Answered")),
        (20, _customer_party(s, "Disconnected")),
        (20, _business_party(s, 2, IVR, "IVR Menu 1001", "Disconnected")),
    ]
    return [
        notification(s, sequence, started + timedelta(seconds=seconds), party)
        for sequence, (seconds, party) in enumerate(parties, start=2)
    ]


def _ivr_hangup_events(started: datetime) -> list[dict[str, Any]]:
    # The caller leaving says nothing of who talked: an IVR hang-up is not reported.
    return []


# -- transfer: agent A answers, warm-transfers to agent B and leaves (`Gone`) -------------

TRANSFER_ID = "s-f5c2a0b8d7e69fb0e2d1b2c1d0e9f8a7"
CONSULT_ID = "s-a6d3b1c9e8f70ac1f3e2c3d2e1f0a9b8"


def _consult_party(number: int, extension: str, code: str, direction: str) -> dict[str, Any]:
    # A's consultation call to B is a session of its own between two extensions.
    a = {"phoneNumber": "101", "name": "Agent 1", "extensionId": AGENTS[0]}
    b = {"phoneNumber": "102", "name": "Agent 2", "extensionId": AGENTS[1]}
    return {
        "accountId": ACCOUNT,
        "extensionId": extension,
        "id": f"p-{CONSULT_ID}-{number}",
        "direction": direction,
        "from": a,
        "to": b,
        "status": {"code": code, "rcc": False},
        "missedCall": False,
        "standAlone": False,
        "muted": False,
    }


def _transfer(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    s = TRANSFER_ID
    gone = {
        "reason": "AttendedTransfer",
        "peerId": {
            "sessionId": "4503992001",
            "telephonySessionId": CONSULT_ID,
            "partyId": f"p-{CONSULT_ID}-2",
        },
    }
    original = [
        (0, _customer_party(s, "Setup")),
        (0, _business_party(s, 2, AGENTS[0], "Agent 1", "Setup")),
        (1, _customer_party(s, "Answered")),
        (1, _business_party(s, 2, AGENTS[0], "Agent 1", "Proceeding")),
        (6, _business_party(s, 2, AGENTS[0], "Agent 1", "Answered")),
        (40, _business_party(s, 2, AGENTS[0], "Agent 1", "Hold")),
    ]
    consult = [
        (41, _consult_party(1, AGENTS[0], "Setup", "Outbound")),
        (41, _consult_party(2, AGENTS[1], "Proceeding", "Inbound")),
        (45, _consult_party(2, AGENTS[1], "Answered", "Inbound")),
    ]
    after = [
        (60, _business_party(s, 2, AGENTS[0], "Agent 1", "Gone", status=gone)),
        (200, _consult_party(2, AGENTS[1], "Disconnected", "Inbound")),
        (200, _customer_party(s, "Disconnected")),
    ]
    requests = []
    for sequence, (seconds, party) in enumerate([*original, *consult, *after], start=2):
        session = CONSULT_ID if party["id"].startswith(f"p-{CONSULT_ID}") else s
        requests.append(
            notification(session, sequence, started + timedelta(seconds=seconds), party)
        )
    return requests


def _transfer_events(started: datetime) -> list[dict[str, Any]]:
    return [_event(TRANSFER_ID, started + timedelta(seconds=6))]


# scenario name → (the requests in arrival order, the events they must publish)
SCENARIOS: Scenarios = {
    "answered": (_answered, _answered_events),
    "missed": (_missed, _missed_events),
    "voicemail": (_voicemail, _voicemail_events),
    "multi-leg": (_multi_leg, _multi_leg_events),
    "ivr-hangup": (_ivr_hangup, _ivr_hangup_events),
    "transfer": (_transfer, _transfer_events),
}
