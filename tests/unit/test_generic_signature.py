"""Standard Webhooks signatures on the generic source: known answer, rotation, freshness."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.errors import BadSignature
from shared.sources.base import WebhookRequest
from shared.sources.generic import TOLERANCE_S, sign, verify

# The reference library's known answer (../shared/reference/vendor-webhooks.md §12).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
OTHER_SECRET = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24="


def request(
    *,
    body: bytes = BODY,
    msg_id: str | None = MSG_ID,
    timestamp: str | None = str(TIMESTAMP),
    signature: str | None = SIGNATURE,
    now: int = TIMESTAMP,
) -> WebhookRequest:
    """The known-answer request, received at `now`, with headers replaced or left out."""
    headers = {"content-type": "application/json"}
    for name, value in (
        ("webhook-id", msg_id),
        ("webhook-timestamp", timestamp),
        ("webhook-signature", signature),
    ):
        if value is not None:
            headers[name] = value
    return WebhookRequest(
        method="POST",
        subpath="",
        query="",
        headers=headers,
        body=body,
        public_url="https://hooks.example.com/generic",
        received_at=datetime.fromtimestamp(now, UTC),
    )


def test_sign_gives_the_reference_known_answer() -> None:
    assert sign(SECRET, MSG_ID, TIMESTAMP, BODY) == SIGNATURE


def test_known_answer_verifies() -> None:
    verify(request(), [SECRET])


def test_secret_without_its_prefix_gives_the_same_signature() -> None:
    assert sign(SECRET.removeprefix("whsec_"), MSG_ID, TIMESTAMP, BODY) == SIGNATURE


def test_secret_without_base64_padding_is_accepted() -> None:
    padded = sign(OTHER_SECRET, MSG_ID, TIMESTAMP, BODY)
    assert sign(OTHER_SECRET.rstrip("="), MSG_ID, TIMESTAMP, BODY) == padded


def test_any_matching_signature_in_the_list_verifies() -> None:
    old = sign(OTHER_SECRET, MSG_ID, TIMESTAMP, BODY)
    verify(request(signature=f"{old} {SIGNATURE}"), [SECRET])


def test_unknown_signature_versions_in_the_list_are_ignored() -> None:
    verify(request(signature=f"v1a,bm90LWVkMjU1MTk= v2,xyz {SIGNATURE}"), [SECRET])


def test_old_and_new_secret_both_verify_during_rotation() -> None:
    new = sign(OTHER_SECRET, MSG_ID, TIMESTAMP, BODY)
    verify(request(signature=new), [SECRET, OTHER_SECRET])
    verify(request(signature=SIGNATURE), [SECRET, OTHER_SECRET])


def test_signature_made_with_a_retired_secret_is_rejected() -> None:
    with pytest.raises(BadSignature):
        verify(request(), [OTHER_SECRET])


def test_signature_older_than_tolerance_is_rejected() -> None:
    with pytest.raises(BadSignature, match="tolerance"):
        verify(request(now=TIMESTAMP + TOLERANCE_S + 1), [SECRET])


def test_signature_from_the_future_beyond_tolerance_is_rejected() -> None:
    with pytest.raises(BadSignature, match="tolerance"):
        verify(request(now=TIMESTAMP - TOLERANCE_S - 1), [SECRET])


@pytest.mark.parametrize("skew", [-TOLERANCE_S, TOLERANCE_S])
def test_signature_at_the_edge_of_tolerance_is_accepted(skew: int) -> None:
    verify(request(now=TIMESTAMP + skew), [SECRET])


def test_tolerance_is_five_minutes() -> None:
    assert TOLERANCE_S == 300


def test_body_with_one_byte_changed_is_rejected() -> None:
    with pytest.raises(BadSignature, match="no signature matches"):
        verify(request(body=b'{"test": 2432232315}'), [SECRET])


def test_different_message_id_is_rejected() -> None:
    with pytest.raises(BadSignature):
        verify(request(msg_id="msg_p5jXN8AQM9LWM0D4loKWxJeK"), [SECRET])


def test_timestamp_changed_within_tolerance_is_rejected() -> None:
    with pytest.raises(BadSignature):
        verify(request(timestamp=str(TIMESTAMP + 1)), [SECRET])


def test_signature_with_one_character_changed_is_rejected() -> None:
    with pytest.raises(BadSignature):
        verify(request(signature=SIGNATURE.replace("g0hM", "g0hN")), [SECRET])


def test_signature_without_a_version_prefix_is_rejected() -> None:
    with pytest.raises(BadSignature):
        verify(request(signature=SIGNATURE.removeprefix("v1,")), [SECRET])


def test_missing_id_header_is_rejected() -> None:
    with pytest.raises(BadSignature, match="missing"):
        verify(request(msg_id=None), [SECRET])


def test_missing_timestamp_header_is_rejected() -> None:
    with pytest.raises(BadSignature, match="missing"):
        verify(request(timestamp=None), [SECRET])


def test_missing_signature_header_is_rejected() -> None:
    with pytest.raises(BadSignature, match="missing"):
        verify(request(signature=None), [SECRET])


def test_empty_signature_header_is_rejected() -> None:
    with pytest.raises(BadSignature, match="missing"):
        verify(request(signature=""), [SECRET])


def test_timestamp_that_is_not_an_integer_is_rejected() -> None:
    with pytest.raises(BadSignature, match="integer"):
        verify(request(timestamp="1614265330.0"), [SECRET])


def test_no_secrets_means_nothing_verifies() -> None:
    with pytest.raises(BadSignature):
        verify(request(), [])
