"""Structured log lines in Cloud Logging's JSON format: one line per outcome, never PII."""

from __future__ import annotations

import json
import sys
from typing import Literal

Severity = Literal["DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL"]
Outcome = Literal[
    "published",
    "kept",
    "republished",
    "ignored",
    "rejected",
    "sent",
    "skipped",
    "duplicate",
    "retry",
    "dead_lettered",
    "failed",
]


def log_outcome(
    severity: Severity,
    message: str,
    *,
    outcome: Outcome,
    event_id: str | None = None,
    source: str | None = None,
    destination: str | None = None,
    reason: str | None = None,
    detail: str | None = None,
    latency_ms: float | None = None,
    count: int | None = None,
) -> None:
    """Write one JSON line to stdout; Cloud Logging lifts `severity` and `message` from it.

    Only these named fields exist so that a body, a phone number or a secret cannot be logged
    by accident: callers pass identifiers and reasons, never payloads.
    """
    fields: dict[str, object] = {"severity": severity, "message": message, "outcome": outcome}
    # Only what is set: Cloud Logging shows an absent field and a null one alike.
    if event_id is not None:
        fields["event_id"] = event_id
    if source is not None:
        fields["source"] = source
    if destination is not None:
        fields["destination"] = destination
    if reason is not None:
        fields["reason"] = reason
    if detail is not None:
        fields["detail"] = detail
    if latency_ms is not None:
        fields["latency_ms"] = round(latency_ms, 1)
    if count is not None:
        fields["count"] = count
    line = _ENCODER.encode(fields) + "\n"
    # One write per line keeps lines whole when several request threads log at once; the
    # flush hands it on now, as Cloud Run collects only what reached the stream.
    sys.stdout.write(line)
    sys.stdout.flush()


# Made once: json.dumps with any non-default option builds a new encoder on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False)
