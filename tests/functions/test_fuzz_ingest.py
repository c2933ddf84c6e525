"""Hostile input at `ingest`: random and validly signed junk never gets a 5xx or a publish."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode
from zoneinfo import ZoneInfo

import jwt
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from shared.errors import PublishFailed
from shared.events import CallEvent, event_from_json, event_to_json
from shared.ingest import handle_webhook
from shared.replies import Reply
from shared.settings import Settings
from shared.sources import SOURCES, callrail, generic, twilio
from tools.vendor_samples import SECRETS, TIMEZONES, VENDORS, Sample, sample

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

GENERIC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NOW = datetime(2024, 11, 5, 14, 22, 12, tzinfo=UTC)
SETTINGS = Settings(
    webhook_secrets={
        "generic": (GENERIC_SECRET,),
        **{name: (secret,) for name, secret in SECRETS.items()},
    },
    source_timezones={name: ZoneInfo(zone) for name, zone in TIMEZONES.items()},
    max_body_bytes=4096,
)
AUTH_HEADERS = (
    "Signature",
    "X-Twilio-Signature",
    "Verification-Token",
    "Validation-Token",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "Content-Type",
    "X-Forwarded-Host",
    "X-Forwarded-Proto",
)
CONTENT_TYPES = [
    *sorted({ct for source in SOURCES.values() for ct in source.CONTENT_TYPES}),
    "text/html",
    "application/json; charset=utf-16",
    "",
]
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"), max_size=80
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=30,
)


class Recorder:
    """A publisher that keeps what it was given; the boundary a pure test observes."""

    def __init__(self, fail: bool = False) -> None:
        self.events: list[CallEvent] = []
        self.fail = fail

    def __call__(self, events: Sequence[CallEvent], settings: Settings) -> list[str]:
        if self.fail:
            raise PublishFailed("emulated outage")
        self.events.extend(events)
        return [f"m{index}" for index, _ in enumerate(events)]


def _handle(
    method: str,
    path: str,
    query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    publish: Recorder,
) -> Reply:
    environ = EnvironBuilder(
        path=path, method=method, query_string=query, headers=list(headers), data=body
    ).get_environ()
    return handle_webhook(Request(environ), SETTINGS, publish, NOW)


def _assert_safe(reply: Reply, publish: Recorder) -> None:
    assert reply.status < 500 or (reply.status == 503 and publish.fail)
    if reply.status >= 300:
        assert publish.events == []
    json.dumps(reply.body)  # every answer serialises


@st.composite
def paths(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(sorted(SOURCES)) | st.text(max_size=12))
    rest = draw(
        st.sampled_from(["", "/post_call", "/ended", "/lost", "/status"]) | st.text(max_size=12)
    )
    return "/" + quote(name + rest, safe="/")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(METHODS),
    path=paths(),
    query=st.sampled_from(["", "token=x", f"token={SECRETS['ringostat']}"]) | st.text(max_size=30),
    headers=st.lists(
        st.tuples(
            st.sampled_from(AUTH_HEADERS) | header_text.filter(str.isalnum),
            st.sampled_from(CONTENT_TYPES) | header_text,
        ),
        max_size=6,
    ),
    body=st.binary(max_size=5000) | json_values.map(lambda value: json.dumps(value).encode()),
    publish_fails=st.booleans(),
)
def test_random_requests_never_get_a_5xx_nor_publish_when_rejected(
    method: str,
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    publish_fails: bool,
) -> None:
    publish = Recorder(fail=publish_fails)

    reply = _handle(method, path, query, headers, body, publish)

    _assert_safe(reply, publish)
    assert publish.events == []  # nothing random can carry a valid signature


@st.composite
def signed_requests(draw: st.DrawFn) -> tuple[str, str, list[tuple[str, str]], bytes]:
    """Correctly authenticated requests with arbitrary content, one vendor scheme at a time."""
    document = draw(st.dictionaries(st.text(max_size=15), json_values, max_size=8) | json_values)
    vendor = draw(
        st.sampled_from(
            ["generic", "callrail", "aircall", "dialpad", "ringostat", "uis", "calltouch"]
        )
    )
    if vendor == "aircall" and isinstance(document, dict):
        document = {**document, "token": SECRETS["aircall"]}
    body = json.dumps(document).encode()
    content = ("Content-Type", "application/json")
    if vendor == "generic":
        timestamp = int(NOW.timestamp())
        headers = [
            content,
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", str(timestamp)),
            ("webhook-signature", generic.sign(GENERIC_SECRET, "msg_1", timestamp, body)),
        ]
        return "/generic", "", headers, body
    if vendor == "callrail":
        path = draw(st.sampled_from(["/callrail", "/callrail/post_call", "/callrail/pre_call"]))
        return path, "", [content, ("Signature", callrail.sign(SECRETS["callrail"], body))], body
    if vendor == "dialpad":
        claims = document if isinstance(document, dict) else {"value": document}
        token = jwt.encode(claims, SECRETS["dialpad"], algorithm="HS256").encode()
        return "/dialpad", "", [("Content-Type", "application/jwt")], token
    path = draw(st.sampled_from([f"/{vendor}", f"/{vendor}/ended", f"/{vendor}/lost"]))
    return path, f"token={SECRETS[vendor]}", [content], body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(signed=signed_requests(), publish_fails=st.booleans())
def test_signed_junk_is_a_4xx_or_a_publish_never_a_5xx(
    signed: tuple[str, str, list[tuple[str, str]], bytes], publish_fails: bool
) -> None:
    path, query, headers, body = signed
    publish = Recorder(fail=publish_fails)

    reply = _handle("POST", path, query, headers, body, publish)

    _assert_safe(reply, publish)


@settings(max_examples=200, deadline=None)
@given(
    fields=st.dictionaries(
        st.sampled_from(
            [
                "callId",
                "callerphone",
                "phonenumber",
                "timestamp",
                "duration",
                "successful",
                "callphase",
                "gcid",
                "url",
            ]
        ),
        st.text(max_size=20) | st.integers().map(str),
        max_size=9,
    )
)
def test_signed_calltouch_fields_with_any_values_never_get_a_5xx(fields: dict[str, str]) -> None:
    query = "&".join(f"{quote(k)}={quote(v)}" for k, v in fields.items())
    publish = Recorder()

    reply = _handle("GET", "/calltouch", f"{query}&token={SECRETS['calltouch']}", [], b"", publish)

    _assert_safe(reply, publish)


def _fuzz_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Ingest as a bare WSGI app: every path reaches handle_webhook, as in the deployed function."""
    publish = Recorder()
    reply = handle_webhook(Request(environ), SETTINGS, publish, datetime.now(UTC))
    if reply.status >= 300:
        assert publish.events == []
    response = Response(
        json.dumps(reply.body), reply.status, dict(reply.headers), mimetype="application/json"
    )
    return response(environ, start_response)


schema = schemathesis.openapi.from_wsgi("/openapi.json", _fuzz_app)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_ingest_answers_as_its_openapi_document_says(case: Any) -> None:
    case.call_and_validate(
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ]
    )


# Numbers no float holds, written as JSON number tokens: json.dumps cannot spell `1e400`.
HOSTILE_NUMBERS = ("1e400", "-1e400", "1" + "0" * 400, "-" + "9" * 401, "1e-400", "4" * 20)
HOSTILE_TEXT = (
    "1e400",
    "9" * 401,
    "-1",
    "0",
    "NaN",
    "Infinity",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00-14:00",
    "\u0000",
    "+12015550123",
)
_TOKEN = "\u241e{}\u241e"  # a marker string swapped for a raw number token after encoding


def _leaves(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in _leaves(item, (*path, key))]
    if isinstance(value, list):
        return [leaf for index, item in enumerate(value) for leaf in _leaves(item, (*path, index))]
    return [path]


def _replaced(document: Any, path: tuple[str | int, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        return {**document, head: _replaced(document[head], rest, value)}
    items = list(document)
    items[int(head)] = _replaced(items[int(head)], rest, value)
    return items


def _json_with_tokens(document: Any) -> bytes:
    text = json.dumps(document)
    for index, token in enumerate(HOSTILE_NUMBERS):
        text = text.replace(json.dumps(_TOKEN.format(index)), token)
    return text.encode()


hostile_values = (
    st.sampled_from([_TOKEN.format(index) for index in range(len(HOSTILE_NUMBERS))])
    | st.sampled_from(HOSTILE_TEXT)
    | st.integers(-(10**30), 10**30)
    | json_values
)


def _resigned(vendor_sample: Sample, body: bytes) -> Sample:
    """The sample with another body, signed again the way its platform signs."""
    if vendor_sample.source == "callrail":
        return vendor_sample.with_body(body).with_header(
            "Signature", callrail.sign(SECRETS["callrail"], body)
        )
    return vendor_sample.with_body(body)


@st.composite
def hostile_vendor_samples(draw: st.DrawFn) -> Sample:
    """A platform's real sample, correctly signed, with one of its fields made hostile."""
    vendor = draw(st.sampled_from(VENDORS))
    base = sample(vendor, NOW.replace(second=0), "http://localhost", NOW)
    value = draw(hostile_values)
    if vendor == "dialpad":
        claims = jwt.decode(base.body, options={"verify_signature": False})
        path = draw(st.sampled_from([p for p in _leaves(claims) if p[0] not in ("iat", "exp")]))
        claims = json.loads(_json_with_tokens(_replaced(claims, path, value)))
        return base.with_body(jwt.encode(claims, SECRETS["dialpad"], algorithm="HS256").encode())
    if vendor in ("twilio", "calltouch"):
        text = value if isinstance(value, str) else json.dumps(value)
        text = HOSTILE_NUMBERS[int(text[1])] if text.startswith("\u241e") else text
        return _hostile_form(draw, base, text)
    document = json.loads(base.body)
    path = draw(st.sampled_from(_leaves(document)))
    if path == ("token",):  # Aircall's signature is its token
        path = ("data", "started_at")
    return _resigned(base, _json_with_tokens(_replaced(document, path, value)))


def _hostile_form(draw: st.DrawFn, base: Sample, text: str) -> Sample:
    fields = dict(parse_qsl(base.body.decode() if base.body else base.query, True))
    name = draw(st.sampled_from(sorted(name for name in fields if name != "token")))
    fields[name] = text
    if base.source == "calltouch":
        return base.with_query(urlencode(fields))
    body = urlencode(fields).encode()
    signature = twilio.sign(SECRETS["twilio"], "http://localhost" + base.target, fields.items())
    return base.with_body(body).with_header("X-Twilio-Signature", signature)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile=hostile_vendor_samples())
def test_platform_sample_with_a_hostile_field_is_a_4xx_or_an_event_dispatch_can_read(
    hostile: Sample,
) -> None:
    publish = Recorder()

    reply = _handle(
        hostile.method,
        hostile.path,
        hostile.query,
        list(hostile.headers.items()),
        hostile.body,
        publish,
    )

    _assert_safe(reply, publish)
    if reply.status >= 400:
        # A refusal names fields, never values: the samples' phones never come back.
        assert "555" not in json.dumps(reply.body)
    for event in publish.events:
        assert event_from_json(event_to_json(event)) == event
