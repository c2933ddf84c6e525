"""Every vendor source: its sample verifies and becomes the right event; forgeries are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.errors import BadSignature
from shared.settings import Settings
from shared.sources import SOURCES
from shared.sources.base import WebhookRequest
from tools.vendor_samples import SECRETS, TIMEZONES, VENDORS, expected_event, sample

STARTED = datetime(2024, 11, 5, 14, 18, 12, tzinfo=UTC)
NOW = STARTED + timedelta(minutes=4)
SETTINGS = Settings(
    webhook_secrets={name: (secret,) for name, secret in SECRETS.items()},
    source_timezones={name: ZoneInfo(zone) for name, zone in TIMEZONES.items()},
)
# Where each vendor carries its credential, to forge or drop it.
AUTH_HEADER = {
    "callrail": "Signature",
    "twilio": "X-Twilio-Signature",
    "ringcentral": "Verification-Token",
}
BODY_SIGNED = ("callrail", "twilio", "dialpad")
QUERY_TOKEN = ("ringostat", "uis", "calltouch")


def _request(vendor: str) -> WebhookRequest:
    return sample(vendor, STARTED).request(NOW)


@pytest.mark.parametrize("vendor", VENDORS)
def test_signed_sample_becomes_the_expected_call_event(vendor: str) -> None:
    source = SOURCES[vendor]
    request = _request(vendor)

    source.verify(request, [SECRETS[vendor]])
    parsed = source.parse(request, SETTINGS)

    assert list(parsed.events) == [expected_event(vendor, STARTED)]


@pytest.mark.parametrize("vendor", VENDORS)
def test_sample_verifies_with_the_new_secret_during_rotation(vendor: str) -> None:
    SOURCES[vendor].verify(
        _request(vendor), ["retired-secret-0000000000000000000", SECRETS[vendor]]
    )


@pytest.mark.parametrize("vendor", VENDORS)
def test_sample_checked_against_another_secret_is_rejected(vendor: str) -> None:
    with pytest.raises(BadSignature):
        SOURCES[vendor].verify(_request(vendor), ["another-secret-0000000000000000000000"])


@pytest.mark.parametrize("vendor", VENDORS)
def test_no_secret_verifies_nothing(vendor: str) -> None:
    with pytest.raises(BadSignature):
        SOURCES[vendor].verify(_request(vendor), [])


@pytest.mark.parametrize("vendor", BODY_SIGNED)
def test_body_with_one_byte_changed_is_rejected(vendor: str) -> None:
    original = sample(vendor, STARTED)
    body = bytearray(original.body)
    body[len(body) // 2] ^= 0x01

    with pytest.raises(BadSignature):
        SOURCES[vendor].verify(original.with_body(bytes(body)).request(NOW), [SECRETS[vendor]])


@pytest.mark.parametrize("vendor", sorted(AUTH_HEADER))
def test_missing_signature_header_is_rejected(vendor: str) -> None:
    request = sample(vendor, STARTED).with_header(AUTH_HEADER[vendor], None).request(NOW)

    with pytest.raises(BadSignature):
        SOURCES[vendor].verify(request, [SECRETS[vendor]])


@pytest.mark.parametrize("vendor", sorted(AUTH_HEADER))
def test_signature_header_sent_twice_is_rejected(vendor: str) -> None:
    original = sample(vendor, STARTED)
    value = original.headers[AUTH_HEADER[vendor]]
    # What a WSGI server makes of the same header sent twice.
    request = original.with_header(AUTH_HEADER[vendor], f"{value},{value}").request(NOW)

    with pytest.raises(BadSignature, match="more than once"):
        SOURCES[vendor].verify(request, [SECRETS[vendor]])


@pytest.mark.parametrize("vendor", QUERY_TOKEN)
def test_missing_query_token_is_rejected(vendor: str) -> None:
    original = sample(vendor, STARTED)
    query = "&".join(part for part in original.query.split("&") if not part.startswith("token="))

    with pytest.raises(BadSignature, match="exactly one"):
        SOURCES[vendor].verify(original.with_query(query).request(NOW), [SECRETS[vendor]])


@pytest.mark.parametrize("vendor", QUERY_TOKEN)
def test_query_token_sent_twice_is_rejected(vendor: str) -> None:
    original = sample(vendor, STARTED)
    query = f"{original.query}&token={SECRETS[vendor]}"

    with pytest.raises(BadSignature, match="exactly one"):
        SOURCES[vendor].verify(original.with_query(query).request(NOW), [SECRETS[vendor]])


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_source_declares_methods_and_content_types(vendor: str) -> None:
    source = SOURCES[vendor]

    assert vendor == source.NAME
    assert "POST" in source.METHODS
    assert {"POST", "GET"} >= source.METHODS
    assert source.CONTENT_TYPES


@pytest.mark.parametrize("vendor", VENDORS)
def test_rejection_details_never_contain_the_secret(vendor: str) -> None:
    with pytest.raises(BadSignature) as caught:
        SOURCES[vendor].verify(_request(vendor), ["wrong-secret-000000000000000000000000"])

    assert SECRETS[vendor] not in str(caught.value)
    assert "wrong-secret" not in str(caught.value)
