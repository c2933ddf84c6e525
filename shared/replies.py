"""The HTTP answer a handler produces, independent of the web framework."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.errors import PipelineError


@dataclass(frozen=True)
class Reply:
    """Status, JSON body (None for an empty body) and headers of one response."""

    status: int
    body: Mapping[str, object] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def error_reply(error: PipelineError, **extra: object) -> Reply:
    """A JSON error body that names the reason and, where known, the offending field."""
    body: dict[str, object] = {"error": error.reason, "detail": error.detail, **extra}
    field_name = getattr(error, "field", None)
    if field_name:
        body["field"] = field_name
    return Reply(error.http_status, body)
