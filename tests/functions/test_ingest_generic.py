"""The `ingest` function over HTTP with the generic source, publishing to a real emulator."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from shared.events import derive_event_id, event_from_json
from shared.sources.generic import sign
from tests.functions.conftest import INGEST_TOPIC, function_client
from tests.functions.pubsub import Spy
from tools.send_call import sample_call, signed_headers

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CALLER = "+12015550123"

MakeClient = Callable[..., FlaskClient]


@pytest.fixture
def make_client(monkeypatch: pytest.MonkeyPatch, published: Spy) -> MakeClient:
    """An ingest test client; the environment is set first because main.py reads it on import."""

    def make(**env: str) -> FlaskClient:
        defaults = {
            "PUBSUB_TOPIC": INGEST_TOPIC,
            "WEBHOOK_SECRET_GENERIC": SECRET,
            "PUBLISH_TIMEOUT_SECONDS": "10",
        }
        for name, value in {**defaults, **env}.items():
            if value:
                monkeypatch.setenv(name, value)
            else:
                monkeypatch.delenv(name, raising=False)
        return function_client("ingest")

    return make


@pytest.fixture
def client(make_client: MakeClient) -> FlaskClient:
    return make_client()


def call(**overrides: Any) -> dict[str, Any]:
    return sample_call(**{"call_id": "fn-call-1", "caller": CALLER, **overrides})


def post_signed(
    client: FlaskClient,
    document: object,
    *,
    secret: str = SECRET,
    path: str = "/generic",
    headers: dict[str, str] | None = None,
) -> Any:
    body = json.dumps(document).encode()
    return client.post(path, data=body, headers={**signed_headers(secret, body), **(headers or {})})


def test_signed_call_is_accepted_with_its_event_id_and_message_id(client: FlaskClient) -> None:
    response = post_signed(client, call())
    assert response.status_code == 202
    body = response.get_json()
    assert body["event_ids"] == [derive_event_id("generic", "fn-call-1")]
    assert len(body["message_ids"]) == 1


def test_accepted_call_is_published_with_its_attributes(
    client: FlaskClient, published: Spy
) -> None:
    reply = post_signed(client, call()).get_json()
    [message] = published.pull()
    assert message.message_id == reply["message_ids"][0]
    assert message.attributes == {
        "event_id": reply["event_ids"][0],
        "source": "generic",
        "status": "answered",
        "schema_version": "1",
    }


def test_published_data_is_the_normalised_call_event(
    make_client: MakeClient, published: Spy
) -> None:
    client = make_client(DEFAULT_PHONE_REGION="GB")
    post_signed(client, call(caller="020 7946 0123", client_id="GA1.2.111.222"))
    [message] = published.pull()
    event = event_from_json(message.data)
    assert (event.source, event.call_id, event.caller, event.client_id) == (
        "generic",
        "fn-call-1",
        "+442079460123",
        "111.222",
    )


def test_array_of_calls_publishes_one_message_per_event(
    client: FlaskClient, published: Spy
) -> None:
    reply = post_signed(client, [call(), call(call_id="fn-call-2", status="missed")]).get_json()
    messages = published.pull(expected=2)
    assert reply["event_ids"] == [
        derive_event_id("generic", "fn-call-1"),
        derive_event_id("generic", "fn-call-2"),
    ]
    assert sorted(m.message_id for m in messages) == sorted(reply["message_ids"])
    assert sorted(m.attributes["event_id"] for m in messages) == sorted(reply["event_ids"])


def test_invalid_call_is_a_400_naming_the_field(client: FlaskClient) -> None:
    response = post_signed(client, call(caller="not a phone 42"))
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "invalid_payload",
        "detail": "caller: Value error, not a phone number",
        "field": "caller",
    }


def test_invalid_call_in_an_array_is_named_by_its_index(client: FlaskClient) -> None:
    response = post_signed(client, [call(), call(call_id="fn-call-2", started_at="yesterday")])
    assert response.status_code == 400
    assert response.get_json()["field"] == "[1].started_at"


def test_invalid_call_publishes_nothing(client: FlaskClient, published: Spy) -> None:
    post_signed(client, [call(), call(call_id="fn-call-2", caller="not a phone 42")])
    assert published.nothing()


def test_body_that_is_not_json_is_a_400(client: FlaskClient) -> None:
    body = b"{not json"
    response = client.post("/generic", data=body, headers=signed_headers(SECRET, body))
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_payload"


def test_signature_made_with_another_secret_is_a_401(client: FlaskClient) -> None:
    other = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24="
    response = post_signed(client, call(), secret=other)
    assert response.status_code == 401
    assert response.get_json()["error"] == "bad_signature"


def test_bad_signature_publishes_nothing(client: FlaskClient, published: Spy) -> None:
    post_signed(client, call(), secret="whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=")
    assert published.nothing()


def test_signature_older_than_tolerance_is_a_401(client: FlaskClient, published: Spy) -> None:
    body = json.dumps(call()).encode()
    stale = int(time.time()) - 301
    headers = {
        "Content-Type": "application/json",
        "webhook-id": "msg_stale",
        "webhook-timestamp": str(stale),
        "webhook-signature": sign(SECRET, "msg_stale", stale, body),
    }
    response = client.post("/generic", data=body, headers=headers)
    assert response.status_code == 401
    assert published.nothing()


def test_rotated_secrets_both_verify(make_client: MakeClient) -> None:
    new = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24="
    client = make_client(WEBHOOK_SECRET_GENERIC=f"{SECRET},{new}")
    assert post_signed(client, call(), secret=new).status_code == 202
    assert post_signed(client, call(), secret=SECRET).status_code == 202


def test_unknown_source_is_a_404(client: FlaskClient) -> None:
    response = post_signed(client, call(), path="/no_such_vendor")
    assert response.status_code == 404
    assert response.get_json()["error"] == "unknown_source"


def test_source_without_a_secret_is_disabled_with_a_404(make_client: MakeClient) -> None:
    client = make_client(WEBHOOK_SECRET_GENERIC="")
    assert post_signed(client, call()).status_code == 404


def test_get_is_a_405_that_allows_post(client: FlaskClient) -> None:
    response = client.get("/generic")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


def test_body_over_the_limit_is_a_413(make_client: MakeClient, published: Spy) -> None:
    client = make_client(MAX_BODY_BYTES="1024")
    response = post_signed(client, call(referrer="https://example.com/?" + "x" * 1100))
    assert response.status_code == 413
    assert published.nothing()


def test_wrong_content_type_is_a_415(client: FlaskClient) -> None:
    response = post_signed(client, call(), headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.get_json()["error"] == "unsupported_media_type"


def test_json_content_type_with_a_charset_is_accepted(client: FlaskClient) -> None:
    response = post_signed(
        client, call(), headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert response.status_code == 202


def test_healthz_answers_200(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


@pytest.mark.usefixtures("unreachable_firestore")
def test_publish_failure_is_a_503_with_retry_after_when_the_store_fails_too(
    make_client: MakeClient,
) -> None:
    # Neither Pub/Sub (no such topic) nor the kept-calls store (nothing listens) accepts.
    client = make_client(PUBSUB_TOPIC="missing-topic", PUBLISH_TIMEOUT_SECONDS="5")
    response = post_signed(client, call())
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.get_json()["error"] == "publish_failed"


@pytest.mark.usefixtures("unreachable_firestore")
def test_publish_failure_publishes_nothing(make_client: MakeClient, published: Spy) -> None:
    client = make_client(PUBSUB_TOPIC="missing-topic", PUBLISH_TIMEOUT_SECONDS="5")
    post_signed(client, call())
    assert published.nothing()


def test_logs_are_json_lines_with_severity_and_message(
    client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    post_signed(client, call())
    post_signed(client, call(caller="not a phone 42"))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert [(line["severity"], line["outcome"]) for line in lines] == [
        ("INFO", "published"),
        ("WARNING", "rejected"),
    ]
    assert all(isinstance(line["message"], str) and line["message"] for line in lines)


def test_logs_never_contain_the_phone_number_the_secret_or_the_body(
    client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    post_signed(client, call())
    post_signed(client, call(caller="+1 201 555 0199 x"))
    post_signed(client, call(), secret="whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=")
    captured = capsys.readouterr()
    logs = captured.out + captured.err
    for forbidden in ("5550123", "5550199", SECRET.removeprefix("whsec_"), "roof-repair"):
        assert forbidden not in logs
