"""Ingest reads headers, the content length and the forwarded URL parts straight from the WSGI
environ: the same names and values as werkzeug's request properties give."""

from __future__ import annotations

from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import EnvironHeaders
from werkzeug.wrappers import Request
from werkzeug.wsgi import get_content_length

from shared.ingest import lower_case_headers, public_url
from shared.settings import Settings

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


_CONTENT_LENGTHS = st.sampled_from(["", "0", "12", "-3", "1_0", " 7", "+5", "x", "9" * 30])
_TRANSFER_ENCODINGS = st.sampled_from(["chunked", "gzip, chunked", "identity", "", "CHUNKED"])


@settings(max_examples=300, deadline=None)
@given(
    content_length=st.none() | _CONTENT_LENGTHS | st.text(max_size=8),
    transfer_encoding=st.none() | _TRANSFER_ENCODINGS | st.text(max_size=12),
)
def test_the_content_length_is_werkzeugs(
    content_length: str | None, transfer_encoding: str | None
) -> None:
    environ = _environ(CONTENT_LENGTH=content_length, HTTP_TRANSFER_ENCODING=transfer_encoding)

    assert get_content_length(environ) == Request(environ).content_length


_HOSTS = st.sampled_from(
    ["example.com", "example.com:80", "example.com:443", "ex ample", "[::1]:8080", "a,b", ""]
)
_SCHEMES = st.sampled_from(["http", "https", "HTTPS", "https, http", " http ", ""])


@settings(max_examples=300, deadline=None)
@given(
    host=st.none() | _HOSTS | st.text(max_size=12),
    server=st.sampled_from([("localhost", "80"), ("::1", "8443"), ("api.test", "443")]),
    url_scheme=st.sampled_from(["http", "https"]),
    forwarded_host=st.none() | _HOSTS | st.text(max_size=12),
    forwarded_proto=st.none() | _SCHEMES | st.text(max_size=8),
    query=st.sampled_from(["", "a=1", "x=%20&y"]),
)
def test_the_public_url_is_built_from_werkzeugs_values(
    host: str | None,
    server: tuple[str, str],
    url_scheme: str,
    forwarded_host: str | None,
    forwarded_proto: str | None,
    query: str,
) -> None:
    environ = _environ(
        HTTP_HOST=host,
        SERVER_NAME=server[0],
        SERVER_PORT=server[1],
        QUERY_STRING=query,
        HTTP_X_FORWARDED_HOST=forwarded_host,
        HTTP_X_FORWARDED_PROTO=forwarded_proto,
        **{"wsgi.url_scheme": url_scheme},
    )
    request = Request(environ)

    assert public_url(request, "generic", "/status", Settings()) == _werkzeug_public_url(request)


def _environ(**values: str | None) -> dict[str, object]:
    """A POST's environ with each given value set, and each None left out."""
    base: dict[str, object] = {"REQUEST_METHOD": "POST", "PATH_INFO": "/generic/status"}
    return base | {key: value for key, value in values.items() if value is not None}


def _werkzeug_public_url(request: Request) -> str:
    """The public URL as ingest built it from werkzeug's header view and `request.host`."""
    query = request.query_string.decode("latin-1")
    suffix = "/generic/status" + (f"?{query}" if query else "")
    scheme = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
    host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
    valid = _hostname(host) is not None
    return f"{scheme}://{host}{suffix}" if valid else suffix


def _hostname(host: str) -> str | None:
    try:
        return urlsplit(f"//{host}").hostname
    except ValueError:
        return None
