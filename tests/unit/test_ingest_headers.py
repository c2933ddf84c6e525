"""Ingest reads headers straight from the WSGI environ: the same names and values as werkzeug."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import EnvironHeaders

from shared.ingest import lower_case_headers

_KEYS = st.sampled_from(
    [
        "HTTP_WEBHOOK_ID",
        "HTTP_X_TWILIO_SIGNATURE",
        "HTTP_X_FORWARDED_HOST",
        "HTTP_CONTENT_TYPE",
        "HTTP_CONTENT_LENGTH",
        "HTTP_",
        "CONTENT_TYPE",
        "CONTENT_LENGTH",
        "SERVER_NAME",
        "REQUEST_METHOD",
        "RAW_URI",
        "wsgi.url_scheme",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(environ=st.dictionaries(_KEYS, st.sampled_from(["", "a", "v1,abc v1,def", "Ä"]) | st.text()))
def test_headers_are_werkzeugs_with_lower_case_names(environ: dict[str, str]) -> None:
    expected = {name.lower(): value for name, value in EnvironHeaders(environ).items()}

    assert lower_case_headers(environ) == expected


def test_a_signed_request_has_its_headers_by_lower_case_name() -> None:
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": "2",
        "HTTP_WEBHOOK_ID": "msg_1",
        "HTTP_WEBHOOK_SIGNATURE": "v1,a v1,b",
        "HTTP_CONTENT_TYPE": "text/plain",
        "SERVER_NAME": "localhost",
    }

    assert lower_case_headers(environ) == {
        "content-type": "application/json",
        "content-length": "2",
        "webhook-id": "msg_1",
        "webhook-signature": "v1,a v1,b",
    }
