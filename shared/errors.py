"""Failure families of the pipeline: every error says whether to retry or to drop."""

from __future__ import annotations

import re

# A sender's key is echoed in an error only when it reads as a field name: a plain identifier
# with too few digits to spell a phone number, and no `@` or `+` to spell an e-mail or E.164.
_ECHOABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_MAX_ECHOED_DIGITS = 4


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose."""

    reason = "error"
    http_status = 500

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.reason)
        self.detail = detail or self.reason


class PermanentError(PipelineError):
    """Drop: the same input will fail the same way; dead-letter it or refuse it."""

    reason = "permanent"
    http_status = 400


class BadSignature(PermanentError):
    """Drop: the webhook's signature, token or timestamp does not verify."""

    reason = "bad_signature"
    http_status = 401


class BadPayload(PermanentError):
    """Drop: the body is not a call event we can read; `field` names the culprit."""

    reason = "invalid_payload"
    http_status = 400

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


def echoable(name: str) -> bool:
    """Whether a sender-chosen field name may appear in a reply or a log without leaking PII."""
    digits = sum(character.isdigit() for character in name)
    return _ECHOABLE_NAME.fullmatch(name) is not None and digits <= _MAX_ECHOED_DIGITS


def position_label(name: str, names: object) -> str:
    """`name` if echoable, else its position among the sender's `names` ("#2", counted from 0)."""
    if echoable(name):
        return name
    if isinstance(names, dict | list | tuple):
        keys = [str(key) for key in names]
        if name in keys:
            return f"#{keys.index(name)}"
    return "#?"


class UnknownSource(PermanentError):
    """Drop: no such webhook source, or the source has no secret and is disabled."""

    reason = "unknown_source"
    http_status = 404


class MethodNotAllowed(PermanentError):
    """Drop: the route exists but not for this HTTP method."""

    reason = "method_not_allowed"
    http_status = 405


class PayloadTooLarge(PermanentError):
    """Drop: the body is over the configured limit."""

    reason = "payload_too_large"
    http_status = 413


class UnsupportedMediaType(PermanentError):
    """Drop: the source does not accept this content type."""

    reason = "unsupported_media_type"
    http_status = 415


class HitRejected(PermanentError):
    """Drop: the built hit breaks a Measurement Protocol rule or the destination refused it."""

    reason = "invalid_hit"


class HitTooLarge(HitRejected):
    """Drop: the hit is over the destination's size limit, which drops such hits silently."""

    reason = "too_large"


class TooOld(PermanentError):
    """Drop: the call is older than the destination accepts."""

    reason = "too_old"


class MissingClientId(PermanentError):
    """Drop: the event has no client id and the destination is set to skip such events."""

    reason = "missing_client_id"


class DestinationRejected(PermanentError):
    """Drop: the destination answered a 4xx other than 408 or 429; resending won't help."""

    reason = "destination_rejected"


class UndecodableMessage(PermanentError):
    """Drop: the Pub/Sub message is not a call event this version can read."""

    reason = "undecodable"


class UnknownDestination(PermanentError):
    """Drop: no destination of that name; the push subscription's endpoint is wrong."""

    reason = "unknown_destination"
    http_status = 404


class PiiBlocked(HitRejected):
    """Drop: a hit bound for Google carries a phone number or e-mail address."""

    reason = "pii_blocked"


class ConversionRejected(HitRejected):
    """Drop: Google Ads refused the click conversion; `detail` holds Google's error code."""

    reason = "conversion_rejected"


class ConversionTooRecent(PermanentError):
    """Drop: Google Ads takes this conversion only 6 hours after the click or the action's
    creation; replay the dead letter then."""

    reason = "too_recent"


class CallSkipped(PermanentError):
    """Drop, and no failure: this destination does not take this call by design. Dispatch acks
    it, logs it as `skipped` with the reason, and dead-letters nothing."""

    reason = "skipped"


class SpamCall(CallSkipped):
    """Drop: the platform marked the call as spam and SEND_SPAM is off."""

    reason = "spam"


class ConversionSkipped(CallSkipped):
    """Drop: the call is no Google Ads conversion."""

    reason = "skipped"


class NoClickId(ConversionSkipped):
    """Drop: the call carries no gclid, gbraid or wbraid, so Google Ads cannot attribute it."""

    reason = "no_click_id"


class NotQualified(ConversionSkipped):
    """Drop: the call does not meet GOOGLE_ADS_MIN_TALK_SECONDS / GOOGLE_ADS_REQUIRE."""

    reason = "not_qualified"


class RetryableError(PipelineError):
    """Retry: the failure is transient; Pub/Sub or the vendor will try again."""

    reason = "retryable"
    http_status = 503


class DestinationUnavailable(RetryableError):
    """Retry: the destination timed out, refused the connection, or answered 408, 429 or 5xx."""

    reason = "destination_unavailable"


class PublishFailed(RetryableError):
    """Retry: Pub/Sub did not acknowledge the publish in time."""

    reason = "publish_failed"


class DeliveryInFlight(RetryableError):
    """Retry: another attempt holds a live claim on this event for this destination."""

    reason = "delivery_in_flight"


class LedgerUnavailable(RetryableError):
    """Retry: the delivery ledger did not answer, and a hit is never sent without it."""

    reason = "ledger_unavailable"


class ConfigError(Exception):
    """Fix the deployment: one or more environment variables are missing or invalid."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration: " + "; ".join(problems))
        self.problems = problems
