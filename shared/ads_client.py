"""Google Ads API over REST: an OAuth access token, the upload request, its answer classified.

REST over the connection pools dispatch already holds (shared/sending.py), rather than the
`google-ads` library: the library adds about a second of imports and ~70 MB to a cold start
(docs/delivery.md, Google Ads).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from shared.errors import (
    ConversionRejected,
    ConversionTooRecent,
    DestinationUnavailable,
    HitRejected,
    TooOld,
)
from shared.events import CallEvent
from shared.hits.ads import API_VERSION, build_click_conversion, upload_body
from shared.hits.outbound import (
    Destination,
    OutboundRequest,
    guard_pii,
    json_headers,
    plain_headers,
)
from shared.logs import log_outcome
from shared.rules.limits import ADS_MAX_AGE
from shared.sending import NoAnswer, post_form
from shared.settings import Settings

DESTINATION: Final = "google_ads"
# A token this close to its expiry is refreshed first, so it cannot lapse mid-request.
_TOKEN_MARGIN_S: Final = 60.0
# ConversionUploadError values that mean Google Ads already counts this call (same order id,
# or same click and time): the upload did its job earlier.
ALREADY_UPLOADED: Final = frozenset({"ORDER_ID_ALREADY_IN_USE", "CLICK_CONVERSION_ALREADY_EXISTS"})
# The click is older than the action's click-through window (at most 90 days).
EXPIRED: Final = frozenset({"EXPIRED_EVENT"})
# Google Ads asks to try again 6 hours after the click or the action's creation.
TOO_RECENT: Final = frozenset({"TOO_RECENT_EVENT", "TOO_RECENT_CONVERSION_ACTION"})


@dataclass
class _Token:
    value: str
    expires_at: float  # time.monotonic()


_token_lock = threading.Lock()
_tokens: dict[tuple[str, str | None], _Token] = {}


def upload_url(settings: Settings) -> str:
    """`POST {base}/v26/customers/{customerId}:uploadClickConversions` (the REST binding of
    ConversionUploadService.UploadClickConversions)."""
    customer = _required(settings.google_ads_customer_id, "CUSTOMER_ID")
    base = f"{settings.google_ads_api_url}/{API_VERSION}/customers/{customer}"
    return f"{base}:uploadClickConversions"


def build_ads_request(event: CallEvent, settings: Settings, now: datetime) -> OutboundRequest:
    """One call as one click conversion, checked and signed with a fresh access token.

    Raises NoClickId / NotQualified (skip), HitRejected (not configured) or ConversionRejected,
    PiiBlocked, or DestinationUnavailable when no access token could be had (retry).
    """
    conversion = build_click_conversion(event, settings)
    url = upload_url(settings)
    body = upload_body([conversion])
    # A raw phone anywhere is refused; only the hashed one, in its own field, passes.
    guard_pii(body, event.phones, destination=DESTINATION)
    headers = {
        **json_headers(settings),
        "Authorization": f"Bearer {access_token(settings)}",
        "developer-token": _required(settings.google_ads_developer_token, "DEVELOPER_TOKEN"),
    }
    if settings.google_ads_login_customer_id:
        headers["login-customer-id"] = settings.google_ads_login_customer_id
    encoded = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()

    def read_answer(status: int, answer: bytes) -> None:
        read_upload_answer(status, answer, settings, event.event_id)

    return OutboundRequest("POST", url, encoded, headers, read_answer)


GOOGLE_ADS = Destination(DESTINATION, ADS_MAX_AGE, "google", build_ads_request)


def _required(value: str | None, name: str) -> str:
    if not value:
        raise HitRejected(f"no Google Ads credentials: set GOOGLE_ADS_{name}")
    return value


def access_token(settings: Settings) -> str:
    """An OAuth 2.0 access token from the refresh token (RFC 6749 §6), cached until near expiry.

    Raises HitRejected when credentials are not configured, DestinationUnavailable when the
    token endpoint does not give one (a revoked grant too: fixing the secret lets retries pass).
    """
    client_id = _required(settings.google_ads_client_id, "CLIENT_ID")
    secret = _required(settings.google_ads_client_secret, "CLIENT_SECRET")
    refresh = _required(settings.google_ads_refresh_token, "REFRESH_TOKEN")
    key = (settings.google_ads_token_url, settings.google_ads_client_id)
    with _token_lock:
        token = _tokens.get(key)
        if token is not None and token.expires_at - _TOKEN_MARGIN_S > time.monotonic():
            return token.value
        token = _refresh(settings, client_id, secret, refresh)
        _tokens[key] = token
        return token.value


def forget_token(settings: Settings) -> None:
    """Drop the cached access token, so the next request asks for a new one."""
    with _token_lock:
        _tokens.pop((settings.google_ads_token_url, settings.google_ads_client_id), None)


def _refresh(settings: Settings, client_id: str, secret: str, refresh: str) -> _Token:
    form = {
        "grant_type": "refresh_token",
        "client_id": client_id,
        "client_secret": secret,
        "refresh_token": refresh,
    }
    try:
        status, body = post_form(
            settings.google_ads_token_url,
            form,
            plain_headers(settings),
            settings.http_timeout_s,
        )
    except NoAnswer as error:
        raise DestinationUnavailable(f"OAuth token refresh: {error}") from None
    try:
        answer = json.loads(body)
    except ValueError:  # UnicodeDecodeError too
        answer = None
    if status != 200 or not isinstance(answer, Mapping):
        # RFC 6749 §5.2: `error` is a code such as invalid_grant; never the secret itself.
        code = answer.get("error") if isinstance(answer, Mapping) else None
        what = f"OAuth token refresh answered HTTP {status} {code or ''}"
        raise DestinationUnavailable(what.strip())
    value, expires_in = answer.get("access_token"), answer.get("expires_in", 3600)
    if not isinstance(value, str) or not value or not isinstance(expires_in, int | float):
        raise DestinationUnavailable("OAuth token refresh gave no access_token")
    return _Token(value, time.monotonic() + float(expires_in))


def read_upload_answer(status: int, answer: bytes, settings: Settings, event_id: str) -> None:
    """Classify the API's answer beyond its status; returns when it is a success.

    A 2xx with a partial failure for the row raises TooOld, ConversionTooRecent or
    ConversionRejected with Google's code as detail, except an upload Google already has,
    which is logged as a duplicate and counts as sent. 401/403 are retried with a new token;
    a 400 is ConversionRejected. Other statuses are left to `send`.
    """
    errors = error_codes(answer)
    detail = "; ".join(errors) or f"HTTP {status}"
    if 200 <= status < 300:
        codes = {error.rpartition(" ")[2] for error in errors}
        if not errors:
            return
        if codes <= ALREADY_UPLOADED:
            log_outcome(
                "INFO",
                "Google Ads already has this conversion; counted as sent",
                outcome="duplicate",
                event_id=event_id,
                destination=DESTINATION,
                detail=detail,
            )
            return
        if codes & EXPIRED:
            raise TooOld(detail)
        if codes & TOO_RECENT:
            raise ConversionTooRecent(detail)
        raise ConversionRejected(detail)
    if status in (401, 403):
        # Authentication and authorisation are fixed by an operator, then the retries pass.
        forget_token(settings)
        raise DestinationUnavailable(f"Google Ads API answered HTTP {status}: {detail}")
    if status == 400:
        raise ConversionRejected(detail)


def error_codes(answer: bytes) -> list[str]:
    """Google's error codes in an answer, as `family CODE` ("conversionUploadError
    CLICK_NOT_FOUND"), from a partial failure or a request-level error; [] when there are none.

    Both carry GoogleAdsFailure objects in google.rpc.Status `details`; the REST form is the
    proto3 JSON mapping (`errorCode` is a one-field object: {"<family>": "<CODE>"}).
    """
    try:
        document = json.loads(answer)
    except (ValueError, UnicodeDecodeError):
        return []
    if not isinstance(document, Mapping):
        return []
    status = document.get("partialFailureError") or document.get("error")
    if not isinstance(status, Mapping):
        return []
    codes: list[str] = []
    for failure in _list(status.get("details")):
        for error in _list(failure.get("errors") if isinstance(failure, Mapping) else None):
            code = error.get("errorCode") if isinstance(error, Mapping) else None
            if isinstance(code, Mapping):
                codes.extend(f"{family} {value}" for family, value in code.items())
    if not codes and isinstance(status.get("status"), str):
        codes.append(f"status {status['status']}")
    return codes


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
