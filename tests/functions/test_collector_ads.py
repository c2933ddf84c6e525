"""The collector's Google Ads API stand-in: what it accepts, refuses and records.

Shapes: the REST (proto3 JSON) form of the v26 protos in the official `google-ads` 34.0.0
library (tests/data/ads/README.md); paths: the `google.api.http` binding
`post: "/v22/customers/{customer_id=*}:uploadClickConversions"` in googleapis/googleapis,
google/ads/googleads/v22/services/conversion_upload_service.proto (v26 likewise).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tools.collector import create_app

UPLOAD = "/v26/customers/1234567890:uploadClickConversions"
ACTION = "customers/1234567890/conversionActions/987654321"
ROW = {
    "gclid": "EAIaIQobChMIdemo0001",
    "conversionAction": ACTION,
    "conversionDateTime": "2026-11-30 09:05:09-05:00",
    "orderId": "call_1",
}


@pytest.fixture
def client() -> FlaskClient:
    return create_app(strict=False, seed=1).test_client()


def token(client: FlaskClient) -> str:
    response = client.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "id",
            "client_secret": "secret",
            "refresh_token": "refresh",
        },
    )
    assert response.status_code == 200
    answer: dict[str, Any] = response.get_json()
    assert (answer["token_type"], answer["expires_in"]) == ("Bearer", 3599)
    return str(answer["access_token"])


def upload(client: FlaskClient, body: Any, **headers: str) -> Any:
    sent = {
        "Authorization": f"Bearer {token(client)}",
        "developer-token": "dev",
        **headers,
    }
    return client.post(UPLOAD, json=body, headers=sent)


def test_token_endpoint_refuses_a_grant_without_its_refresh_token(client: FlaskClient) -> None:
    # RFC 6749 §5.2: {"error": "invalid_request"} with HTTP 400.
    response = client.post("/token", data={"grant_type": "refresh_token", "client_id": "id"})
    assert (response.status_code, response.get_json()) == (400, {"error": "invalid_request"})


def test_a_valid_row_is_kept_and_echoed_in_results(client: FlaskClient) -> None:
    response = upload(client, {"conversions": [ROW], "partialFailure": True})
    assert response.status_code == 200
    answer = response.get_json()
    assert answer == {
        "results": [
            {
                "gclid": ROW["gclid"],
                "conversionAction": ACTION,
                "conversionDateTime": ROW["conversionDateTime"],
            }
        ],
        "jobId": answer["jobId"],
    }
    [hit] = client.get("/hits?destination=google_ads").get_json()
    assert (hit["path"], hit["valid"], hit["params"]["conversions"]) == (UPLOAD, True, [ROW])


def test_the_same_order_id_again_is_a_partial_failure(client: FlaskClient) -> None:
    upload(client, {"conversions": [ROW], "partialFailure": True})
    answer = upload(client, {"conversions": [ROW], "partialFailure": True}).get_json()
    assert answer["results"] == [{}]
    [failure] = answer["partialFailureError"]["details"]
    assert (
        failure["@type"] == "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure"
    )
    assert [error["errorCode"] for error in failure["errors"]] == [
        {"conversionUploadError": "ORDER_ID_ALREADY_IN_USE"}
    ]


def test_rows_breaking_the_apis_rules_fail_with_their_codes_and_locations(
    client: FlaskClient,
) -> None:
    bad = {**ROW, "conversionDateTime": "2026-11-30T14:05:09Z", "orderId": "call_2"}
    answer = upload(client, {"conversions": [ROW | {"orderId": "ok"}, bad], "partialFailure": True})
    errors = answer.get_json()["partialFailureError"]["details"][0]["errors"]
    assert [(e["errorCode"], e["location"]["fieldPathElements"]) for e in errors] == [
        (
            {"dateError": "INVALID_STRING_DATE_TIME_SECONDS_WITH_OFFSET"},
            [{"fieldName": "conversions", "index": 1}, {"fieldName": "conversion_date_time"}],
        )
    ]
    assert [hit["valid"] for hit in client.get("/hits").get_json()] == [False]


def test_a_raw_phone_anywhere_in_the_upload_is_flagged(client: FlaskClient) -> None:
    row = {**ROW, "userIdentifiers": [{"hashedPhoneNumber": "+12015550123"}]}
    answer = upload(client, {"conversions": [row], "partialFailure": True}).get_json()
    codes = [e["errorCode"] for e in answer["partialFailureError"]["details"][0]["errors"]]
    assert codes == [
        {"conversionUploadError": "INVALID_USER_IDENTIFIER"},
        {"fieldError": "PII_DETECTED"},
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"conversions": [ROW]},  # partialFailure is required
        {"conversions": [], "partialFailure": True},
        {"conversions": [{**ROW, "callerId": "+12015550123"}], "partialFailure": True},
        {"conversions": [ROW], "partialFailure": True, "debug": True},
    ],
)
def test_a_malformed_request_is_refused_whole(client: FlaskClient, body: Any) -> None:
    response = upload(client, body)
    assert response.status_code == 400
    assert response.get_json()["error"]["status"] == "INVALID_ARGUMENT"


def test_an_unsigned_request_is_unauthenticated(client: FlaskClient) -> None:
    response = client.post(UPLOAD, json={"conversions": [ROW], "partialFailure": True})
    assert response.status_code == 401
    [failure] = response.get_json()["error"]["details"]
    assert failure["errors"][0]["errorCode"] == {"authenticationError": "AUTHENTICATION_ERROR"}


def test_an_ads_error_fault_fails_every_row_of_the_next_upload_only(client: FlaskClient) -> None:
    fault = client.post("/faults", json={"ads_error": "CLICK_NOT_FOUND", "times": 1})
    assert (fault.status_code, fault.get_json()["status"]) == (201, None)
    first = upload(client, {"conversions": [ROW], "partialFailure": True}).get_json()
    second = upload(client, {"conversions": [ROW], "partialFailure": True}).get_json()
    assert first["partialFailureError"]["details"][0]["errors"][0]["errorCode"] == {
        "conversionUploadError": "CLICK_NOT_FOUND"
    }
    assert second["results"] == [
        {k: ROW[k] for k in ("gclid", "conversionAction", "conversionDateTime")}
    ]


def test_an_unknown_ads_error_is_refused(client: FlaskClient) -> None:
    response = client.post("/faults", json={"ads_error": "NOT_A_CODE"})
    assert response.status_code == 400
