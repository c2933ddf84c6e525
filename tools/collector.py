"""Local stand-in for Google Analytics, OWOX BI and the Google Ads API: validates, records and
can fail every hit."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal
from urllib.parse import parse_qsl, urlsplit

from flask import Flask, Response, jsonify, request
from werkzeug.serving import WSGIRequestHandler, run_simple

from shared.hits.ads import API_VERSION, CLICK_ID_FIELDS, Problem, conversion_problems
from shared.pii import find_pii
from shared.rules.ga4 import Ga4Message, parse_ga4_body, validate_ga4_body, validate_ga4_query
from shared.rules.limits import OWOX_GA4_MAX_AGE, PII_DETECTED, VALUE_INVALID, Target
from shared.rules.ua import ParserMessage, parse_ua_payload, ua_pairs_messages, ua_size_messages
from tools.debug_answers import (
    debug_collect_response,
    debug_mp_collect_response,
    is_valid,
    validate_ua_batch,
)

Destination = Literal[
    "ua", "ua_batch", "ua_debug", "ga4", "ga4_debug", "owox", "owox_ga4", "google_ads"
]
Record = dict[str, object]
Clock = Callable[[], datetime]

# Google answers /collect with a 1x1 transparent GIF.
GIF: Final = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
MAX_HITS: Final = 10_000
MAX_RECORDED_BYTES: Final = 64 * 1024 * 1024
MAX_REQUEST_BYTES: Final = 1024 * 1024
MAX_KNOWN_PHONES: Final = 1000
RECORDED_HEADERS: Final = ("User-Agent", "Content-Type")
# Google Ads request headers worth seeing in a record; never Authorization or developer-token.
ADS_RECORDED_HEADERS: Final = (*RECORDED_HEADERS, "login-customer-id")
# ConversionUploadError values (google-ads 34.0.0, v26 errors/types/conversion_upload_error.py)
# that `POST /faults {"ads_error": …}` can make the next upload's rows fail with.
ADS_ERRORS: Final = frozenset(
    {
        "UNPARSEABLE_GCLID",
        "CONVERSION_PRECEDES_EVENT",
        "EXPIRED_EVENT",
        "TOO_RECENT_EVENT",
        "EVENT_NOT_FOUND",
        "UNAUTHORIZED_CUSTOMER",
        "TOO_RECENT_CONVERSION_ACTION",
        "CONVERSION_TRACKING_NOT_ENABLED_AT_IMPRESSION_TIME",
        "ORDER_ID_ALREADY_IN_USE",
        "DUPLICATE_ORDER_ID",
        "CLICK_CONVERSION_ALREADY_EXISTS",
        "INVALID_CUSTOMER_FOR_CLICK",
        "CLICK_NOT_FOUND",
        "INVALID_USER_IDENTIFIER",
        "GBRAID_WBRAID_BOTH_SET",
        "UNPARSEABLE_WBRAID",
        "UNPARSEABLE_GBRAID",
        "CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS",
        "CUSTOMER_NOT_ENABLED_ENHANCED_CONVERSIONS_FOR_LEADS",
        "NO_CONVERSION_ACTION_FOUND",
        "INVALID_CONVERSION_ACTION_TYPE",
    }
)
ADS_TOKEN_LIFETIME_S: Final = 3599


@dataclass
class Fault:
    """An injected failure: the next `times` requests under `path_prefix` (all when None)."""

    id: int
    status: int | None
    times: int | None
    rate: float
    latency_ms: int
    path_prefix: str
    fired: int = 0
    # A ConversionUploadError the Google Ads stand-in answers for every row, as a partial failure.
    ads_error: str | None = None

    def to_json(self) -> dict[str, object]:
        """The fault as `GET /faults` lists it (`times` is what remains)."""
        return {
            "id": self.id,
            "status": self.status,
            "times": self.times,
            "rate": self.rate,
            "latency_ms": self.latency_ms,
            "path_prefix": self.path_prefix,
            "fired": self.fired,
            "ads_error": self.ads_error,
        }


def parse_fault(spec: object, fault_id: int) -> Fault:
    """Read a `POST /faults` body; raises ValueError naming the bad field."""
    if not isinstance(spec, Mapping):
        raise ValueError("body must be a JSON object")
    known = {"status", "times", "rate", "latency_ms", "path_prefix", "ads_error"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(unknown)}")
    ads_error = spec.get("ads_error")
    if ads_error is not None and ads_error not in ADS_ERRORS:
        raise ValueError(f"ads_error must be one of {', '.join(sorted(ADS_ERRORS))}")
    # A partial failure is a 200 whose body names the error: no status unless asked for.
    status = spec.get("status", None if ads_error else 503)
    times = spec.get("times")
    rate = spec.get("rate", 1.0)
    latency_ms = spec.get("latency_ms", 0)
    prefix = spec.get("path_prefix", "/")
    if status is not None and not (_is_int(status) and 100 <= status <= 599):
        raise ValueError("status must be an HTTP status (100-599) or null")
    if times is not None and not (_is_int(times) and times >= 1):
        raise ValueError("times must be a positive integer or null")
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise ValueError("rate must be a number between 0 and 1")
    if not (_is_int(latency_ms) and 0 <= latency_ms <= 60_000):
        raise ValueError("latency_ms must be an integer between 0 and 60000")
    if not isinstance(prefix, str) or not prefix.startswith("/"):
        raise ValueError("path_prefix must start with /")
    return Fault(fault_id, status, times, float(rate), latency_ms, prefix, ads_error=ads_error)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class Collector:
    """State shared by request threads: recorded hits, queued faults, phones seen in OWOX hits."""

    clock: Clock
    rng: random.Random
    max_hits: int = MAX_HITS
    max_bytes: int = MAX_RECORDED_BYTES
    lock: threading.Lock = field(default_factory=threading.Lock)
    records: deque[Record] = field(default_factory=deque)
    recorded_bytes: int = 0
    # Records dropped by the bounds: a reader paging with `after` (tools/soak.py) checks it
    # stayed put, so a hit evicted before it was read is never taken for one never sent.
    evicted: int = 0
    faults: list[Fault] = field(default_factory=list)
    phones: dict[str, None] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    # The Google Ads stand-in: access tokens it issued, conversions it keeps (as Google does,
    # by order id and by click and time, per conversion action).
    ads_tokens: set[str] = field(default_factory=set)
    ads_orders: set[tuple[str, str]] = field(default_factory=set)
    ads_clicks: set[tuple[str, str, str]] = field(default_factory=set)

    def issue_token(self) -> str:
        """A new access token for the Google Ads stand-in."""
        with self.lock:
            token = f"local-access-token-{next(self.ids)}"
            self.ads_tokens.add(token)
            return token

    def valid_token(self, token: str) -> bool:
        """Whether the stand-in issued this access token."""
        with self.lock:
            return token in self.ads_tokens

    def keep_conversion(self, conversion: Mapping[str, object]) -> str | None:
        """Keep an uploaded conversion; the ConversionUploadError if Google already has it."""
        action = str(conversion.get("conversionAction"))
        click = next((str(conversion[n]) for n in CLICK_ID_FIELDS if conversion.get(n)), "")
        order = conversion.get("orderId")
        moment = str(conversion.get("conversionDateTime"))
        with self.lock:
            if isinstance(order, str) and (action, order) in self.ads_orders:
                return "ORDER_ID_ALREADY_IN_USE"
            if (action, click, moment) in self.ads_clicks:
                return "CLICK_CONVERSION_ALREADY_EXISTS"
            if isinstance(order, str):
                self.ads_orders.add((action, order))
            self.ads_clicks.add((action, click, moment))
            return None

    def record(self, records: Sequence[Record]) -> None:
        """Keep records with ids, dropping the oldest beyond the count and size bounds."""
        with self.lock:
            for entry in records:
                entry["id"] = next(self.ids)
                self.records.append(entry)
                self.recorded_bytes += _size(entry)
            while self.records and (
                len(self.records) > self.max_hits or self.recorded_bytes > self.max_bytes
            ):
                self.recorded_bytes -= _size(self.records.popleft())
                self.evicted += 1

    def hits(self, filters: Mapping[str, str], after: int = 0) -> tuple[list[Record], int]:
        """Recorded hits with an id above `after`, oldest first, those whose fields equal every
        filter; and how many records the bounds have evicted so far."""
        with self.lock:
            found = [
                r
                for r in self.records
                if _id_above(r, after) and all(r.get(k) == v for k, v in filters.items())
            ]
            return found, self.evicted

    def clear(self) -> None:
        """Forget every recorded hit (not an eviction: `evicted` stays)."""
        with self.lock:
            self.records.clear()
            self.recorded_bytes = 0

    def add_fault(self, spec: object) -> Fault:
        """Queue a fault behind the existing ones; raises ValueError for a bad spec."""
        with self.lock:
            fault = parse_fault(spec, next(self.ids))
            self.faults.append(fault)
            return fault

    def take_fault(self, path: str) -> Fault | None:
        """The fault this request gets, if any: the first queued one whose prefix matches."""
        with self.lock:
            for fault in self.faults:
                if not path.startswith(fault.path_prefix):
                    continue
                if self.rng.random() >= fault.rate:
                    return None
                fault.fired += 1
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                return fault
            return None

    def list_faults(self) -> list[dict[str, object]]:
        """The queued faults, in matching order."""
        with self.lock:
            return [fault.to_json() for fault in self.faults]

    def clear_faults(self) -> None:
        """Remove every queued fault."""
        with self.lock:
            self.faults.clear()

    def remember_phone(self, phone: str) -> None:
        """Remember a phone sent to OWOX BI, so a Google hit leaking it in any form is caught."""
        with self.lock:
            self.phones.pop(phone, None)
            self.phones[phone] = None
            while len(self.phones) > MAX_KNOWN_PHONES:
                del self.phones[next(iter(self.phones))]

    def known_phones(self) -> tuple[str, ...]:
        """Phones seen in OWOX BI hits, most recent last."""
        with self.lock:
            return tuple(self.phones)


def _id_above(entry: Record, after: int) -> bool:
    entry_id = entry.get("id")
    return isinstance(entry_id, int) and entry_id > after


def _size(entry: Record) -> int:
    body = entry.get("body")
    return len(body) if isinstance(body, str) else 0


@dataclass(frozen=True)
class Evaluated:
    """One hit as the collector understood it, before the request-level fields are added."""

    body: str  # the request body; for a /batch hit, its own line
    params: object
    messages: Sequence[ParserMessage | Ga4Message]
    hit: str = ""  # the `hit` string of a /debug/collect answer

    @property
    def valid(self) -> bool:
        """No ERROR (UA) and no validation message at all (GA4)."""
        return is_valid(self.messages)


def create_app(
    *,
    strict: bool | None = None,
    clock: Clock | None = None,
    seed: int | None = None,
    max_hits: int = MAX_HITS,
) -> Flask:
    """The collector WSGI app; `strict` (default: env COLLECTOR_STRICT=1) answers 400 to invalid
    hits on non-debug paths instead of Google's 2xx."""
    if strict is None:
        strict = os.environ.get("COLLECTOR_STRICT", "") == "1"
    state = Collector(clock=clock or (lambda: datetime.now(UTC)), rng=random.Random(seed))
    state.max_hits = max_hits
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    # Google's key order (hitParsingResult before parserMessage, messageType first) is kept.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["collector"] = state

    def respond(
        destination: Destination,
        target: Target,
        evaluate: Callable[[], list[Evaluated]],
        answer: Callable[[list[Evaluated]], Response],
    ) -> Response:
        fault = state.take_fault(request.path)
        if fault is not None and fault.latency_ms:
            time.sleep(fault.latency_ms / 1000)
        evaluated = evaluate()
        state.record([_record(item, destination, target, fault, state.clock) for item in evaluated])
        if fault is not None and fault.status is not None:
            response = jsonify({"error": "fault injected by the collector", "fault": fault.id})
            response.status_code = fault.status
            return response
        if strict and not destination.endswith("_debug") and not all(e.valid for e in evaluated):
            # The validation server's JSON, so the sender's error log says what was wrong.
            response = _debug_answer(evaluated)
            response.status_code = 400
            return response
        return answer(evaluated)

    def ua_hit(payload: bytes, target: Target, method: Literal["GET", "POST"]) -> Evaluated:
        pairs = parse_ua_payload(payload)
        messages = ua_size_messages(len(payload), target, method=method)
        messages += ua_pairs_messages(pairs, target)
        if target == "google":
            messages += _pii_messages(pairs, messages, state.known_phones())
        text = payload.decode("utf-8", errors="replace")
        return Evaluated(_body_text(), _first_wins(pairs), messages, f"{request.path}?{text}")

    def single_payload() -> tuple[bytes, Literal["GET", "POST"]]:
        query = request.query_string
        if request.method == "GET":
            return query, "GET"
        body = request.get_data(cache=True)
        return (query + b"&" + body if query and body else query or body), "POST"

    def gif(_: list[Evaluated]) -> Response:
        return Response(GIF, 200, {"Content-Type": "image/gif", "Cache-Control": "no-store"})

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok\n", 200, {"Content-Type": "text/plain"})

    @app.route("/collect", methods=["GET", "POST"])
    def collect() -> Response:
        def evaluate() -> list[Evaluated]:
            payload, method = single_payload()
            return [ua_hit(payload, "google", method)]

        return respond("ua", "google", evaluate, gif)

    @app.post("/batch")
    def batch() -> Response:
        def evaluate() -> list[Evaluated]:
            lines = _lines(request.get_data(cache=True))
            result = validate_ua_batch(lines)
            if not lines:
                return [Evaluated("", {}, list(result.batch_messages))]
            out: list[Evaluated] = []
            for line, messages in zip(lines, result.hit_messages, strict=True):
                pairs = parse_ua_payload(line)
                found = [*result.batch_messages, *messages]
                found += _pii_messages(pairs, found, state.known_phones())
                text = line.decode("utf-8", errors="replace")
                out.append(Evaluated(text, _first_wins(pairs), found, f"{request.path}?{text}"))
            return out

        return respond("ua_batch", "google", evaluate, gif)

    @app.route("/debug/collect", methods=["GET", "POST"])
    def debug_collect() -> Response:
        def evaluate() -> list[Evaluated]:
            payload, method = single_payload()
            lines = _lines(request.get_data(cache=True)) if method == "POST" else []
            if len(lines) > 1:
                return [ua_hit(line, "google", "POST") for line in lines]
            return [ua_hit(payload, "google", method)]

        return respond("ua_debug", "google", evaluate, _debug_answer)

    def ga4(target: Target) -> Evaluated:
        body = request.get_data(cache=True)
        query = dict(parse_qsl(request.query_string.decode("utf-8", errors="replace")))
        stream: Literal["web", "app"] = "app" if query.get("firebase_app_id") else "web"
        if target == "owox":
            messages = validate_ga4_body(body, state.clock(), max_age=OWOX_GA4_MAX_AGE)
        else:
            messages = validate_ga4_body(body, state.clock(), stream=stream)
        try:
            parsed = parse_ga4_body(body)
        except (ValueError, UnicodeDecodeError):
            parsed = None
        # Always an object, so `hit["params"].get(...)` works; the raw text stays in `body`.
        params = dict(parsed) if isinstance(parsed, Mapping) else {}
        if target == "google":
            messages = validate_ga4_query(query) + messages
            messages += [
                Ga4Message(
                    path,
                    "This field carries personal data (a phone number or an e-mail address); "
                    "Google Analytics forbids it.",
                    PII_DETECTED,
                )
                for path in find_pii(params, state.known_phones())
            ]
        if target == "owox" and is_valid(messages):
            for phone in _ga4_phones(params):
                state.remember_phone(phone)
        return Evaluated(body.decode("utf-8", errors="replace"), params, messages)

    def no_content(_: list[Evaluated]) -> Response:
        return Response(status=204)

    @app.post("/mp/collect")
    def mp_collect() -> Response:
        return respond("ga4", "google", lambda: [ga4("google")], no_content)

    @app.post("/debug/mp/collect")
    def debug_mp_collect() -> Response:
        return respond("ga4_debug", "google", lambda: [ga4("google")], _debug_answer)

    @app.post("/owox-ga4/<path:stream>")
    def owox_ga4(stream: str) -> Response:
        return respond("owox_ga4", "owox", lambda: [ga4("owox")], no_content)

    @app.route("/owox/<property_id>", methods=["GET", "POST"])
    def owox(property_id: str) -> Response:
        def evaluate() -> list[Evaluated]:
            payload, method = single_payload()
            pairs = parse_ua_payload(payload)
            params = _first_wins(pairs)
            # The older access point form is /collect?tid=…; otherwise the path holds the tid.
            path_tid = None if property_id == "collect" else property_id
            checked = pairs if "tid" in params or path_tid is None else [("tid", path_tid), *pairs]
            messages = ua_size_messages(len(payload), "owox", method=method)
            if path_tid is not None and "tid" in params and params["tid"] != path_tid:
                messages.append(
                    ParserMessage(
                        "ERROR",
                        VALUE_INVALID,
                        "The value provided for parameter 'tid' differs from the property id "
                        "in the access point path.",
                        "tid",
                    )
                )
            messages += ua_pairs_messages(checked, "owox")
            phone = params.get("tel", "")
            if phone and is_valid(messages):
                state.remember_phone(phone)
            text = payload.decode("utf-8", errors="replace")
            return [Evaluated(_body_text(), params, messages, f"{request.path}?{text}")]

        return respond("owox", "owox", evaluate, gif)

    @app.post("/token")
    def oauth_token() -> Response:
        # Google's OAuth 2.0 token endpoint, refresh grant only (RFC 6749 §6, errors §5.2).
        form = request.form
        missing = [
            name for name in ("client_id", "client_secret", "refresh_token") if not form.get(name)
        ]
        if form.get("grant_type") != "refresh_token":
            return _oauth_error("unsupported_grant_type", 400)
        if missing:
            return _oauth_error("invalid_request", 400)
        token = state.issue_token()
        return jsonify(
            {"access_token": token, "expires_in": ADS_TOKEN_LIFETIME_S, "token_type": "Bearer"}
        )

    @app.post("/<version>/customers/<customer_id>:uploadClickConversions")
    def upload_click_conversions(version: str, customer_id: str) -> Response:
        fault = state.take_fault(request.path)
        if fault is not None and fault.latency_ms:
            time.sleep(fault.latency_ms / 1000)
        answer, problems, document = _ads_answer(state, version, customer_id, fault)
        state.record([_ads_record(document, problems, fault, state.clock)])
        if fault is not None and fault.status is not None:
            response = jsonify({"error": "fault injected by the collector", "fault": fault.id})
            response.status_code = fault.status
            return response
        return answer

    @app.get("/hits")
    def hits() -> Response:
        filters = {k: request.args[k] for k in ("destination", "target") if k in request.args}
        after = request.args.get("after", "0")
        if not (after.isascii() and after.isdigit()):
            response = jsonify({"error": "after must be a hit id (a non-negative integer)"})
            response.status_code = 400
            return response
        found, evicted = state.hits(filters, int(after))
        response = jsonify(found)
        # Bounded memory: a long run pages with `after=<last id read>` and compares this count
        # between pages to learn whether a hit it had not read yet was dropped.
        response.headers["X-Hits-Evicted"] = str(evicted)
        return response

    @app.delete("/hits")
    def clear_hits() -> Response:
        state.clear()
        return Response(status=204)

    @app.post("/faults")
    def add_fault() -> Response:
        try:
            fault = state.add_fault(json.loads(request.get_data(cache=True) or b"null"))
        except ValueError as error:
            response = jsonify({"error": str(error)})
            response.status_code = 400
            return response
        response = jsonify(fault.to_json())
        response.status_code = 201
        return response

    @app.get("/faults")
    def list_faults() -> Response:
        return jsonify(state.list_faults())

    @app.delete("/faults")
    def clear_faults() -> Response:
        state.clear_faults()
        return Response(status=204)

    return app


def _record(
    item: Evaluated, destination: Destination, target: Target, fault: Fault | None, clock: Clock
) -> Record:
    headers = {name: request.headers[name] for name in RECORDED_HEADERS if name in request.headers}
    return {
        "id": 0,
        "received_at": clock().astimezone(UTC).isoformat(timespec="milliseconds"),
        "method": request.method,
        "path": request.path,
        "query": request.query_string.decode("utf-8", errors="replace"),
        "headers": headers,
        "body": item.body,
        "params": item.params,
        "target": target,
        "destination": destination,
        "valid": item.valid,
        "messages": [message.to_json() for message in item.messages],
        "fault": None if fault is None else {"id": fault.id, "status": fault.status},
    }


def _ads_answer(
    state: Collector, version: str, customer_id: str, fault: Fault | None
) -> tuple[Response, list[str], object]:
    """The Google Ads API's answer to an upload: (response, problems found, parsed body)."""
    body = request.get_data(cache=True)
    try:
        document: object = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        document = None
    authorization = request.headers.get("Authorization", "")
    if not (
        authorization.startswith("Bearer ")
        and state.valid_token(authorization.removeprefix("Bearer "))
        and request.headers.get("developer-token")
    ):
        failure = _ads_failure([Problem("authenticationError", "AUTHENTICATION_ERROR", "")], None)
        return _ads_error(401, "UNAUTHENTICATED", failure), ["UNAUTHENTICATED"], document
    login = request.headers.get("login-customer-id")
    if version != API_VERSION:
        return _ads_error(404, "NOT_FOUND", None), [f"no API version {version}"], document
    if not customer_id.isdigit() or len(customer_id) != 10 or (login and not login.isdigit()):
        failure = _ads_failure([Problem("requestError", "INVALID_CUSTOMER_ID", "")], None)
        return _ads_error(400, "INVALID_ARGUMENT", failure), ["INVALID_CUSTOMER_ID"], document
    shape = _ads_shape_problems(document)
    if shape:
        return _ads_error(400, "INVALID_ARGUMENT", None), shape, document
    if not isinstance(document, dict):  # _ads_shape_problems said so already; for the types
        return _ads_error(400, "INVALID_ARGUMENT", None), ["not an object"], document
    rows: list[tuple[int, Problem]] = []
    results: list[dict[str, object]] = []
    phones = state.known_phones()
    for index, conversion in enumerate(document["conversions"]):
        found = _ads_row_problems(conversion, phones, fault)
        if not found and not document.get("validateOnly"):
            duplicate = state.keep_conversion(conversion)
            found = [Problem("conversionUploadError", duplicate, "")] if duplicate else []
        rows.extend((index, problem) for problem in found)
        results.append({} if found else _ads_result(conversion))
    answer: dict[str, object] = {}
    if rows:
        failure = _ads_failure([problem for _, problem in rows], [index for index, _ in rows])
        answer["partialFailureError"] = {
            "code": 3,
            "message": "; ".join(f"{p.code} at conversions[{i}]" for i, p in rows),
            "details": [failure],
        }
    if not document.get("validateOnly"):
        answer["results"] = results
    answer["jobId"] = str(next(state.ids))
    return jsonify(answer), [f"conversions[{i}] {p}" for i, p in rows], document


_ADS_REQUEST_FIELDS: Final = frozenset({"conversions", "partialFailure", "validateOnly", "jobId"})
_ADS_CONVERSION_FIELDS: Final = frozenset(
    {
        *CLICK_ID_FIELDS,
        "conversionAction",
        "conversionDateTime",
        "conversionValue",
        "currencyCode",
        "orderId",
        "userIdentifiers",
        "consent",
        "customVariables",
        "cartData",
        "externalAttributionData",
        "conversionEnvironment",
        "customerType",
    }
)


def _ads_shape_problems(document: object) -> list[str]:
    """What makes the whole request invalid: not JSON, unknown names, no rows, no partialFailure.

    The REST front end refuses unknown field names with a 400, as it does any bad JSON.
    """
    if not isinstance(document, dict):
        return ["the body is not a JSON object"]
    unknown = sorted(set(document) - _ADS_REQUEST_FIELDS)
    conversions = document.get("conversions")
    problems = [f"unknown field {name}" for name in unknown]
    if not isinstance(conversions, list) or not conversions:
        problems.append("conversions: required, at least one")
    elif not all(isinstance(row, dict) for row in conversions):
        problems.append("conversions: each must be an object")
    else:
        for index, row in enumerate(conversions):
            problems += [
                f"unknown field conversions[{index}].{name}"
                for name in sorted(set(row) - _ADS_CONVERSION_FIELDS)
            ]
    # Required, and "should always be set to true" (UploadClickConversionsRequest).
    if document.get("partialFailure") is not True:
        problems.append("partialFailure: required, true")
    return problems


def _ads_row_problems(
    conversion: Mapping[str, object], phones: Sequence[str], fault: Fault | None
) -> list[Problem]:
    if fault is not None and fault.ads_error:
        return [Problem("conversionUploadError", fault.ads_error, "")]
    problems = conversion_problems(conversion)
    problems += [
        # The stand-in's own code (Google's API has none): a raw phone must never get there.
        Problem("fieldError", "PII_DETECTED", path)
        for path in find_pii(conversion, phones, destination="google_ads")
    ]
    return problems


def _ads_result(conversion: Mapping[str, object]) -> dict[str, object]:
    # ClickConversionResult: the click id, the action and the time of a kept conversion.
    kept = (*CLICK_ID_FIELDS, "conversionAction", "conversionDateTime")
    return {name: conversion[name] for name in kept if name in conversion}


def _ads_failure(problems: Sequence[Problem], rows: Sequence[int] | None) -> dict[str, object]:
    """A GoogleAdsFailure in the REST form of a google.rpc.Status detail."""
    errors: list[dict[str, object]] = []
    for position, problem in enumerate(problems):
        error: dict[str, object] = {
            "errorCode": {problem.family: problem.code},
            "message": f"{problem.code} (local stand-in)",
        }
        if rows is not None:
            path: list[dict[str, object]] = [{"fieldName": "conversions", "index": rows[position]}]
            if problem.field:
                path.append({"fieldName": _snake(problem.field)})
            error["location"] = {"fieldPathElements": path}
        errors.append(error)
    return {
        "@type": f"type.googleapis.com/google.ads.googleads.{API_VERSION}.errors.GoogleAdsFailure",
        "errors": errors,
        "requestId": "local",
    }


def _ads_error(status: int, code: str, failure: dict[str, object] | None) -> Response:
    error: dict[str, object] = {"code": status, "message": code, "status": code}
    if failure is not None:
        error["details"] = [failure]
    response = jsonify({"error": error})
    response.status_code = status
    return response


def _ads_record(document: object, problems: list[str], fault: Fault | None, clock: Clock) -> Record:
    headers = {n: request.headers[n] for n in ADS_RECORDED_HEADERS if n in request.headers}
    return {
        "id": 0,
        "received_at": clock().astimezone(UTC).isoformat(timespec="milliseconds"),
        "method": request.method,
        "path": request.path,
        "query": request.query_string.decode("utf-8", errors="replace"),
        "headers": headers,
        "body": _body_text(),
        "params": document if isinstance(document, dict) else {},
        "target": "google",
        "destination": "google_ads",
        "valid": not problems,
        "messages": problems,
        "fault": None
        if fault is None
        else {"id": fault.id, "status": fault.status, "ads_error": fault.ads_error},
    }


def _snake(name: str) -> str:
    # Field paths in GoogleAdsFailure name proto fields (conversion_date_time).
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _oauth_error(code: str, status: int) -> Response:
    response = jsonify({"error": code})
    response.status_code = status
    return response


def _body_text() -> str:
    return request.get_data(cache=True).decode("utf-8", errors="replace")


def _lines(body: bytes) -> list[bytes]:
    """The hits of a batch body: one per line, blank lines (such as a final newline) skipped."""
    return [line.rstrip(b"\r") for line in body.split(b"\n") if line.strip()]


def _ga4_phones(body: Mapping[str, object]) -> list[str]:
    """The `tel` of each event of an OWOX BI GA4 body, as OWOX BI's builder adds it."""
    events = body.get("events")
    phones: list[str] = []
    for event in events if isinstance(events, list) else []:
        params = event.get("params") if isinstance(event, Mapping) else None
        phone = params.get("tel") if isinstance(params, Mapping) else None
        if isinstance(phone, str) and phone:
            phones.append(phone)
    return phones


def _first_wins(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in pairs:
        params.setdefault(key, value)
    return params


def _pii_messages(
    pairs: Sequence[tuple[str, str]],
    already: Sequence[ParserMessage],
    phones: Sequence[str],
) -> list[ParserMessage]:
    """PII_DETECTED for each parameter of a Google hit carrying PII, unless already reported."""
    flagged = {m.parameter for m in already if m.message_code == PII_DETECTED}
    return [
        ParserMessage(
            "ERROR",
            PII_DETECTED,
            f"Parameter '{name}' carries personal data (a phone number or an e-mail address); "
            "Google Analytics forbids it.",
            name,
        )
        for name in find_pii(pairs, phones)
        if name not in flagged
    ]


def _debug_answer(evaluated: list[Evaluated]) -> Response:
    """The validation server's JSON: GA4's validationMessages or UA's hitParsingResult."""
    ga4 = [m for item in evaluated for m in item.messages if isinstance(m, Ga4Message)]
    if request.path.startswith(("/mp/", "/debug/mp/", "/owox-ga4/")):
        return jsonify(debug_mp_collect_response(ga4))
    hits = [
        (item.hit, [m for m in item.messages if isinstance(m, ParserMessage)]) for item in evaluated
    ]
    return jsonify(debug_collect_response(hits))


class _QuietRequestHandler(WSGIRequestHandler):
    """Logs method, path and status only: query strings carry OWOX BI's `tel`."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = urlsplit(self.path).path
        self.log("info", '"%s %s" %s', self.command, path, code)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the collector: `python -m tools.collector --host 127.0.0.1 --port 8090 [--strict]`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument(
        "--strict",
        action="store_true",
        help="answer 400 to invalid hits on non-debug paths (also COLLECTOR_STRICT=1)",
    )
    args = parser.parse_args(argv)
    app = create_app(strict=True if args.strict else None)
    run_simple(args.host, args.port, app, threaded=True, request_handler=_QuietRequestHandler)


if __name__ == "__main__":
    main()
