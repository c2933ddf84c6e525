"""The Pub/Sub push handler: one call event to one destination, sent, retried or dead-lettered."""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Mapping
from datetime import datetime

from shared.deliveries import Claim, delivery_ledger
from shared.destinations import DESTINATIONS
from shared.errors import (
    BadPayload,
    CallSkipped,
    PermanentError,
    RetryableError,
    SpamCall,
    UndecodableMessage,
    UnknownDestination,
)
from shared.events import CallEvent, event_from_json
from shared.logs import log_outcome
from shared.publish import publish_dead_letter
from shared.replies import Reply, error_reply
from shared.sending import send
from shared.settings import Settings

ACKED = Reply(204)


def handle_push(
    destination_name: str,
    body: bytes,
    settings: Settings,
    now: datetime,
) -> Reply:
    """Deliver one pushed message: 204 when sent, already sent or dead-lettered, 503 to retry."""
    started = time.perf_counter()
    destination = DESTINATIONS.get(destination_name)
    if destination is None:
        error = UnknownDestination(f"no destination named {destination_name!r}"[:200])
        log_outcome(
            "ERROR",
            "push to an unknown destination",
            outcome="failed",
            reason=error.reason,
            detail=error.detail,
        )
        return error_reply(error)
    data, attributes = b"", dict[str, str]()
    event_id = None
    ledger = delivery_ledger(settings)
    claim: Claim | None = None
    try:
        data, attributes = decode_envelope(body)
        event_id = attributes.get("event_id")
        event = _event(data)
        event_id = event.event_id
        if event.spam and not settings.send_spam:
            raise SpamCall("the platform marked the call as spam; SEND_SPAM=true sends it")
        # First: a copy of an event already sent is a duplicate, however old it is by now.
        claim = ledger.claim(destination_name, event_id, now, source=event.source)
        if claim.already_sent:
            log_outcome(
                "INFO",
                "hit already sent; not sending it again",
                outcome="duplicate",
                event_id=event_id,
                destination=destination_name,
            )
            return ACKED
        status = send(destination.request(event, settings, now), settings)
    except CallSkipped as error:
        if claim:
            ledger.release(claim)
        log_outcome(
            "INFO",
            "call not sent: this destination does not take it",
            outcome="skipped",
            event_id=event_id,
            destination=destination_name,
            reason=error.reason,
            detail=error.detail,
        )
        return ACKED
    except PermanentError as error:
        # Only sends are remembered: a replay of the dead letter, once fixed, may still send.
        if claim:
            ledger.release(claim)
        # An undecodable envelope is kept whole, so nothing of it is lost for inspection.
        return _dead_letter(
            data or body,
            attributes,
            destination_name,
            event_id,
            error.reason,
            error.detail,
            settings,
        )
    except RetryableError as error:
        if claim:
            ledger.release(claim)
        log_outcome(
            "WARNING",
            "not sent; Pub/Sub will redeliver",
            outcome="retry",
            event_id=event_id,
            destination=destination_name,
            reason=error.reason,
            detail=error.detail,
        )
        return error_reply(error)
    # Acked even if unrecorded: a redelivery would resend; this way only a later copy might.
    recorded = ledger.mark_sent(claim, now)
    log_outcome(
        "INFO",
        "hit sent",
        outcome="sent",
        event_id=event_id,
        destination=destination_name,
        detail=f"HTTP {status}" + ("" if recorded else "; not recorded in the ledger"),
        latency_ms=(time.perf_counter() - started) * 1000,
    )
    return ACKED


def _event(data: bytes) -> CallEvent:
    try:
        return event_from_json(data)
    except BadPayload as error:
        # Ingest only publishes valid events: this message is not one this version can read.
        raise UndecodableMessage(f"not a call event: {error.detail}") from None


def decode_envelope(body: bytes) -> tuple[bytes, dict[str, str]]:
    """The message data and attributes of a Pub/Sub push envelope; raises UndecodableMessage."""
    try:
        envelope = json.loads(body)
        message = envelope["message"]
        data = base64.b64decode(message["data"], validate=True)
        attributes = message.get("attributes") or {}
    except (ValueError, KeyError, TypeError, binascii.Error, AttributeError):
        raise UndecodableMessage("not a Pub/Sub push envelope with base64 data") from None
    if not isinstance(attributes, dict):
        raise UndecodableMessage("message attributes are not an object")
    return data, {str(key): str(value) for key, value in attributes.items()}


def _dead_letter(
    data: bytes,
    original: Mapping[str, str],
    destination: str,
    event_id: str | None,
    reason: str,
    detail: str,
    settings: Settings,
) -> Reply:
    # The message's own attributes travel along, so a replay republishes it as ingest did.
    attributes = {**original, "reason": reason, "destination": destination, "detail": detail[:1024]}
    if event_id:
        attributes["event_id"] = event_id
    try:
        publish_dead_letter(data, attributes, settings)
    except RetryableError as error:
        # Acking now would lose the event: let Pub/Sub redeliver until the dead letter lands.
        log_outcome(
            "ERROR",
            "dead-letter publish failed; Pub/Sub will redeliver",
            outcome="retry",
            event_id=event_id,
            destination=destination,
            reason=error.reason,
        )
        return error_reply(error)
    log_outcome(
        "WARNING",
        "event dead-lettered",
        outcome="dead_lettered",
        event_id=event_id,
        destination=destination,
        reason=reason,
        detail=detail,
    )
    return ACKED
