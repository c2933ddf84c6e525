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
    optional = {
        "event_id": event_id,
        "source": source,
        "destination": destination,
        "reason": reason,
        "detail": detail,
        "latency_ms": None if latency_ms is None else round(latency_ms, 1),
        "count": count,
    }
    fields.update({key: value for key, value in optional.items() if value is not None})
    # One write per line keeps lines whole when several request threads log at once.
    sys.stdout.write(json.dumps(fields, ensure_ascii=False) + "\n")
    sys.stdout.flush()
