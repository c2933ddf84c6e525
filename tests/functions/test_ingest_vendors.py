"""The `ingest` function over HTTP with every vendor source, publishing to a real emulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from shared.events import event_from_json
from tests.functions.conftest import INGEST_TOPIC, function_client
from tests.functions.pubsub import Spy
from tools.vendor_samples import SECRETS, TIMEZONES, VENDORS, Sample, expected_event, sample

BASE_URL = "http://localhost"  # what the test client's requests look like from inside


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, published: Spy) -> FlaskClient:
    """Ingest with every vendor enabled; main.py reads the environment on import."""
    monkeypatch.setenv("PUBSUB_TOPIC", INGEST_TOPIC)
    monkeypatch.setenv(
        "SOURCE_TIMEZONES", ",".join(f"{name}={zone}" for name, zone in TIMEZONES.items())
    )
    for name, secret in SECRETS.items():
        monkeypatch.setenv(f"WEBHOOK_SECRET_{name.upper()}", f"old-secret-000000000000000,{secret}")
    return function_client("ingest")


def _started() -> datetime:
    # The samples are sent when the call ends, four minutes after it started (the scenarios'
    # default): Twilio's Dial action carries no time, so its start is counted back from now.
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=4)


# Platforms whose sample's start is derived from when ingest received it, not from its body.
_STARTED_FROM_RECEIPT = frozenset({"twilio"})


def _send(client: FlaskClient, request: Sample) -> TestResponse:
    return client.open(
        request.path,
        method=request.method,
        query_string=request.query,
        headers=request.headers,
        data=request.body,
    )


@pytest.mark.parametrize("vendor", VENDORS)
def test_signed_vendor_webhook_publishes_its_call_event(
    vendor: str, client: FlaskClient, published: Spy
) -> None:
    started = _started()
    expected = expected_event(vendor, started)

    response = _send(client, sample(vendor, started, BASE_URL, now=datetime.now(UTC)))

    assert response.status_code in (200, 202), response.text
    assert response.json is not None
    assert response.json["event_ids"] == [expected.event_id]
    [got] = [event_from_json(message.data) for message in published.pull()]
    if vendor in _STARTED_FROM_RECEIPT:
        assert abs(got.started_at - expected.started_at) < timedelta(seconds=5)
        expected = expected.model_copy(update={"started_at": got.started_at})
    assert got == expected


@pytest.mark.parametrize("vendor", VENDORS)
def test_vendor_webhook_with_a_wrong_secret_is_a_401_and_publishes_nothing(
    vendor: str, client: FlaskClient, published: Spy
) -> None:
    started = _started()
    forged = sample(vendor, started, BASE_URL, now=datetime.now(UTC))
    if vendor in ("ringostat", "uis", "calltouch"):
        forged = forged.with_query(forged.query.replace(SECRETS[vendor], "guessed-token"))
    else:
        body = bytearray(forged.body)
        body[-3] ^= 0x01  # flips a byte inside the signed body or the JSON token
        forged = forged.with_body(bytes(body))
        if vendor == "ringcentral":
            forged = forged.with_header("Verification-Token", "guessed-token")

    response = _send(client, forged)

    assert response.status_code == 401, response.text
    assert response.json is not None
    assert response.json["error"] == "bad_signature"
    assert published.nothing()


def test_ringcentral_handshake_echoes_the_validation_token_with_200(client: FlaskClient) -> None:
    response = client.post(
        "/ringcentral", headers={"Validation-Token": "9f1c2b3a-4d5e-6f70-8192-a3b4c5d6e7f8"}
    )

    assert response.status_code == 200
    assert response.headers["Validation-Token"] == "9f1c2b3a-4d5e-6f70-8192-a3b4c5d6e7f8"
    assert response.json == {"event_ids": [], "message_ids": [], "note": "subscription validated"}


def test_pre_call_webhook_is_acknowledged_with_a_note_and_publishes_nothing(
    client: FlaskClient, published: Spy
) -> None:
    original = sample("callrail", _started(), BASE_URL)
    pre_call = Sample("callrail", "POST", "/callrail/pre_call", "", original.body, original.headers)

    response = _send(client, pre_call)

    assert response.status_code == 202
    assert response.json == {
        "event_ids": [],
        "message_ids": [],
        "note": "pre_call is not a call outcome; waiting for post_call",
    }
    assert published.nothing()


def test_get_on_a_post_only_source_is_a_405_naming_the_allowed_method(client: FlaskClient) -> None:
    response = client.get("/callrail")

    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


def test_get_on_a_source_that_allows_it_is_not_a_405(client: FlaskClient) -> None:
    response = client.get("/twilio?CallStatus=completed")

    assert response.status_code == 401
    assert response.headers.get("Allow") is None


def test_signature_header_sent_twice_is_a_401(client: FlaskClient, published: Spy) -> None:
    original = sample("callrail", _started(), BASE_URL)
    headers = [*original.headers.items(), ("Signature", original.headers["Signature"])]

    response = client.post(original.path, headers=headers, data=original.body)

    assert response.status_code == 401
    assert response.json is not None
    assert response.json["detail"] == "the signature header was sent more than once"
    assert published.nothing()


def test_get_with_a_body_is_a_400(client: FlaskClient) -> None:
    response = client.get("/calltouch?token=x", data=b"callId=1")

    assert response.status_code == 400


def test_json_nested_too_deep_is_a_400_and_publishes_nothing(
    client: FlaskClient, published: Spy
) -> None:
    body = b"[" * 5000 + b"]" * 5000
    query = f"token={SECRETS['ringostat']}"

    response = client.post(
        "/ringostat", query_string=query, data=body, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json is not None
    assert response.json["detail"] == "body is not valid JSON"
    assert published.nothing()


def test_body_that_is_not_utf8_is_a_400(client: FlaskClient) -> None:
    query = f"token={SECRETS['uis']}"

    response = client.post(
        "/uis/ended",
        query_string=query,
        data=b"call_session_id=\xff\xfe",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
    assert response.json is not None
    assert response.json["detail"] == "body is not UTF-8"


def test_openapi_document_is_served(client: FlaskClient) -> None:
    response = client.get("/openapi.json")

    assert response.status_code == 200
    assert response.json is not None
    assert response.json["openapi"] == "3.1.0"
    assert {"/{source}", "/{source}/{event}"} <= set(response.json["paths"])


def test_rejections_never_echo_the_secret_or_the_phone(
    client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    original = sample("aircall", _started(), BASE_URL)
    call = json.loads(original.body)
    call["token"] = SECRETS["aircall"][:-1] + "x"

    response = _send(client, original.with_body(json.dumps(call).encode()))

    logs = capsys.readouterr().out
    assert response.status_code == 401
    for text in (response.text, logs):
        assert SECRETS["aircall"][:-1] not in text
        assert "201-555-0123" not in text
