"""How tools/soak.py reads dispatch's log and explains extra hits and losses.

A loss or a duplicate must be put on the component that caused it: our code, or the Pub/Sub
emulator; a hit no ledger could have held back (a timed-out send the destination counted, a
send by an attempt killed before it recorded it) is counted apart from real duplicates.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tools import soak
from tools.soak import Trail

KILLED = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
BACK = KILLED + timedelta(seconds=4)
KEY = ("ev_1", "ua")


def line(outcome: str, event_id: str = "ev_1", destination: str = "ua", **extra: str) -> str:
    record = {"severity": "INFO", "outcome": outcome, "event_id": event_id}
    return json.dumps({**record, "destination": destination, **extra}) + "\n"


def hit(received_at: datetime) -> dict[str, object]:
    return {"destination": "ua", "fault": None, "received_at": received_at.isoformat()}


@pytest.mark.parametrize(
    "detail",
    ["no answer within 2 s from destination", "ReadTimeout from destination"],
)
def test_trail_reads_only_new_whole_lines_and_counts_timeouts(tmp_path: Path, detail: str) -> None:
    log = tmp_path / "dispatch.log"
    timeout = {"detail": detail}
    log.write_text("Serving on 127.0.0.1\n" + line("retry", **timeout) + line("retry")[:20])
    trail = Trail(log)
    trail.read()
    first = (dict(trail.outcomes[KEY]), trail.timeouts[KEY])
    # The half-written line is finished, then read once, with the next one.
    connect = {"detail": "ConnectTimeout from destination"}
    log.write_text(
        log.read_text()
        + line("retry")[20:]
        + line("retry", **connect)
        + line("sent", destination="owox")
    )
    trail.read()
    assert first == ({"retry": 1}, 1)
    assert (dict(trail.outcomes[KEY]), dict(trail.outcomes[("ev_1", "owox")])) == (
        {"retry": 3},
        {"sent": 1},
    )
    assert trail.timeouts[KEY] == 1
    # Each retry's reason is kept, to trace a duplicate from the report alone.
    assert trail.retries[KEY] == [detail, "", "ConnectTimeout from destination"]


@pytest.mark.parametrize(
    ("copies", "timeouts", "expected"),
    [
        ([KILLED + timedelta(seconds=60)], 0, {}),
        # A send dispatch timed out on and the destination counted: once per logged timeout.
        ([KILLED + timedelta(seconds=60)] * 2, 1, {"timed_out_counted": 1}),
        # Two extra copies and one logged timeout: one stays unexplained.
        ([KILLED + timedelta(seconds=60)] * 3, 1, {"timed_out_counted": 1, "duplicates": 1}),
        # The first copy arrived just before dispatch was killed: the killed attempt's send.
        ([KILLED - timedelta(seconds=1), BACK + timedelta(seconds=9)], 0, {"killed_mid_send": 1}),
        # Long before the kill: nothing excuses the second copy.
        ([KILLED - timedelta(seconds=30), BACK + timedelta(seconds=9)], 0, {"duplicates": 1}),
    ],
)
def test_extra_copies_are_explained_only_by_evidence(
    copies: list[datetime], timeouts: int, expected: dict[str, int]
) -> None:
    records = [hit(moment) for moment in copies]
    assert soak._extra_copies(records, timeouts, [(KILLED, BACK)]) == Counter(expected)


def trail_with(outcomes: list[str], seen_ago_s: float, push_ago_s: float) -> Trail:
    trail = Trail(Path("unused"))
    now = time.monotonic()
    for outcome in outcomes:
        trail.outcomes[KEY][outcome] += 1
    if outcomes:
        trail.last_seen[KEY] = now - seen_ago_s
    trail.last_push = now - push_ago_s
    return trail


@pytest.mark.parametrize(
    ("published", "outcomes", "seen_ago_s", "push_ago_s", "blamed"),
    [
        (False, [], 0, 0, soak.NEVER_PUBLISHED),
        (True, [], 0, 60, soak.EMULATOR_NEVER_PUSHED),
        (True, [], 0, 1, soak.NOT_PUSHED_YET),
        (True, ["retry", "retry"], 60, 60, soak.EMULATOR_NOT_REDELIVERED),
        (True, ["retry"], 2, 2, soak.STILL_RETRYING),
        (True, ["retry", "failed"], 60, 60, soak.DISPATCH_DROPPED),
    ],
)
def test_a_loss_is_blamed_on_the_component_the_evidence_names(
    published: bool, outcomes: list[str], seen_ago_s: float, push_ago_s: float, blamed: str
) -> None:
    trail = trail_with(outcomes, seen_ago_s, push_ago_s)
    assert soak._blame(KEY, {"ev_1"} if published else set(), trail) == blamed


def test_blame_names_say_whose_loss_it_is() -> None:
    ours = {soak.NEVER_PUBLISHED, soak.DISPATCH_DROPPED}
    emulator = {soak.EMULATOR_NEVER_PUSHED, soak.EMULATOR_NOT_REDELIVERED}
    assert all(name.startswith(soak.BY_US) for name in ours)
    assert all(name.startswith(soak.BY_EMULATOR) for name in emulator)
    assert not soak.STILL_RETRYING.startswith((soak.BY_US, soak.BY_EMULATOR))
