"""The local collector's stand-ins for Google's validation servers: /debug/collect's and
/debug/mp/collect's answers, and /batch's limits. Deployed code never calls these."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.rules.ga4 import Ga4Message
from shared.rules.limits import (
    PAYLOAD_TOO_LARGE,
    TOO_MANY_HITS,
    UA_BATCH_LIMIT,
    UA_BATCH_MAX_HITS,
    VALUE_REQUIRED,
)
from shared.rules.ua import ParserMessage, validate_ua_payload


@dataclass(frozen=True)
class UaBatchResult:
    """Validation of a `/batch` request: request-level messages and one list per hit line."""

    batch_messages: tuple[ParserMessage, ...]
    hit_messages: tuple[tuple[ParserMessage, ...], ...]


def is_valid(messages: Iterable[ParserMessage | Ga4Message]) -> bool:
    """True when no message rejects the hit: no UA ERROR and no GA4 message at all.

    GA4 validation messages carry no severity; Google lists only problems, so any one is fatal.
    """
    for message in messages:
        if isinstance(message, Ga4Message) or message.message_type == "ERROR":
            return False
    return True


def validate_ua_batch(lines: list[bytes]) -> UaBatchResult:
    """Validate a Google `/batch` request: at most 20 hits, 16 KB in total, 8 KB per hit."""
    batch: list[ParserMessage] = []
    if not lines:
        batch.append(_batch_error(VALUE_REQUIRED, "The batch contains no hits."))
    if len(lines) > UA_BATCH_MAX_HITS:
        batch.append(
            _batch_error(
                TOO_MANY_HITS,
                f"The batch has {len(lines)} hits; at most {UA_BATCH_MAX_HITS} are allowed.",
            )
        )
    # Newline separators count towards the request size.
    total = sum(len(line) for line in lines) + max(len(lines) - 1, 0)
    if total > UA_BATCH_LIMIT:
        batch.append(
            _batch_error(
                PAYLOAD_TOO_LARGE,
                f"The batch is {total} bytes; at most {UA_BATCH_LIMIT} are allowed.",
            )
        )
    hits = tuple(tuple(validate_ua_payload(line, "google")) for line in lines)
    return UaBatchResult(tuple(batch), hits)


def debug_collect_response(hits: list[tuple[str, list[ParserMessage]]]) -> dict[str, object]:
    """Build Google's `/debug/collect` JSON from (hit as received, its messages) pairs."""
    count = len(hits)
    return {
        "hitParsingResult": [
            {
                "valid": is_valid(messages),
                "parserMessage": [message.to_json() for message in messages],
                "hit": hit,
            }
            for hit, messages in hits
        ],
        "parserMessage": [
            {
                "messageType": "INFO",
                "description": f"Found {count} hit{'' if count == 1 else 's'} in the request.",
            }
        ],
    }


def debug_mp_collect_response(messages: Iterable[Ga4Message]) -> dict[str, object]:
    """Build Google's `/debug/mp/collect` JSON: `{"validationMessages": [...]}`."""
    return {"validationMessages": [message.to_json() for message in messages]}


def _batch_error(code: str, description: str) -> ParserMessage:
    return ParserMessage("ERROR", code, description)
