"""Outcome log lines: one JSON line per call, only the fields that were given."""

from __future__ import annotations

import json

import pytest

from shared.logs import log_outcome


def test_a_line_carries_every_field_given_and_no_other(capsys: pytest.CaptureFixture[str]) -> None:
    log_outcome(
        "INFO",
        "hit sent",
        outcome="sent",
        event_id="ev_1",
        source="generic",
        destination="owox",
        reason="none",
        detail="HTTP 200 — ok",
        latency_ms=12.345,
        count=0,
    )

    output = capsys.readouterr().out
    assert output == (
        '{"severity": "INFO", "message": "hit sent", "outcome": "sent", "event_id": "ev_1",'
        ' "source": "generic", "destination": "owox", "reason": "none",'
        ' "detail": "HTTP 200 — ok", "latency_ms": 12.3, "count": 0}\n'
    )


def test_fields_not_given_are_left_out(capsys: pytest.CaptureFixture[str]) -> None:
    log_outcome("WARNING", "webhook rejected", outcome="rejected", reason="bad_signature")

    assert json.loads(capsys.readouterr().out) == {
        "severity": "WARNING",
        "message": "webhook rejected",
        "outcome": "rejected",
        "reason": "bad_signature",
    }


def test_each_call_is_one_whole_line(capsys: pytest.CaptureFixture[str]) -> None:
    log_outcome("INFO", "a", outcome="published", detail="line\nbreak")
    log_outcome("INFO", "b", outcome="published")

    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["a", "b"]
    assert json.loads(lines[0])["detail"] == "line\nbreak"
