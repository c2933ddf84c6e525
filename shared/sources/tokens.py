"""Shared-token checks for vendors that sign nothing: the token rides in the URL or the body."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qsl

from shared.errors import BadSignature
from shared.sources.base import WebhookRequest, constant_time_in

QUERY_TOKEN = "token"  # noqa: S105 (a parameter name, not a secret)


def verify_query_token(request: WebhookRequest, secrets: Sequence[str]) -> None:
    """Accept the request when its one `token` query parameter equals a secret.

    Raises BadSignature when the token is missing, repeated or wrong.
    """
    if not request.query.isascii():
        raise BadSignature("query string must be URL-encoded ASCII")
    try:
        pairs = parse_qsl(request.query, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadSignature("query string cannot be read") from None
    tokens = [value for name, value in pairs if name == QUERY_TOKEN]
    if len(tokens) != 1:
        raise BadSignature(f"expected exactly one {QUERY_TOKEN!r} query parameter")
    if not constant_time_in(tokens[0], secrets):
        raise BadSignature("token does not match")
