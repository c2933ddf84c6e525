"""Replaying a dead letter sends the missing hit once and nothing twice."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.e2e.conftest import Pipeline, generic_event_id
from tools.replay import DeadLetter, Filter, replay
from tools.send_call import sample_call
from tools.topology import dead_letter_subscription

pytestmark = pytest.mark.e2e
HOLD = dead_letter_subscription("call-events-dead-letter")


def _waiting(pipeline: Pipeline, event_id: str) -> list[DeadLetter]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = replay(
            pipeline.stack.project,
            "call-events",
            HOLD,
            Filter(event_ids=frozenset({event_id})),
            dry_run=True,
        )
        if found:
            return found
    return []


def test_replayed_dead_letter_reaches_only_the_destination_that_missed_it(
    pipeline: Pipeline,
) -> None:
    pipeline.set_fault(status=400, times=1, path_prefix="/owox/")
    call_id = f"e2e-{uuid.uuid4().hex[:12]}"
    assert pipeline.post_generic(sample_call(call_id)).status_code == 202
    event_id = generic_event_id(call_id)
    [letter] = _waiting(pipeline, event_id)
    assert (letter.destination, letter.reason) == ("owox", "destination_rejected")

    replayed = replay(
        pipeline.stack.project, "call-events", HOLD, Filter(event_ids=frozenset({event_id}))
    )

    assert [r.attributes["event_id"] for r in replayed] == [event_id]
    hits = pipeline.hits_for_event(event_id, count=3)
    delivered = [hit["destination"] for hit in hits if hit.get("fault") is None]
    # OWOX BI gets the call now; UA, which had it already, is not sent it twice.
    assert sorted(delivered) == ["owox", "ua"]
    assert pipeline.dead_letters(event_id, timeout_s=2) == []
