"""Sending a built request: the process-wide connection pools, one deadline per send
(shared/send_deadlines.py), the answer classified.

Every destination's request goes through `send`; building it is the destination's job
(shared/hits/outbound.py). Google Ads' OAuth token refresh posts its form through `post_form`.

On urllib3 alone, which requests sent through anyway: requests' own layers (settings merged per
send, cookie jar, hooks, a second percent-encoding pass over the long hit URL) cost about a third
of a push's CPU.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Mapping
from typing import Final
from urllib.parse import urlencode, urlsplit

from urllib3 import BaseHTTPResponse, PoolManager
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    HTTPError,
    LocationValueError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util import Retry, Timeout, parse_url
from urllib3.util.ssl_ import create_urllib3_context

from shared.errors import DestinationRejected, DestinationUnavailable
from shared.hits.outbound import OutboundRequest
from shared.send_deadlines import Deadline, WatchedHTTPSPool, WatchedPool, send_deadline
from shared.settings import Settings

# Retry connection failures only: a hit is not idempotent, so a sent one is never re-sent. No
# status is retried either, so a Retry-After header is not read (urllib3 would otherwise turn a
# GET's 429 or 503 carrying one into a MaxRetryError instead of the answer).
RETRY: Final = Retry(
    total=2,
    connect=2,
    read=0,
    status=0,
    other=0,
    redirect=False,
    backoff_factor=0.2,
    respect_retry_after_header=False,
)
# Connections kept per destination origin (threads beyond it connect anew, never wait), and
# origins kept at once: OWOX, Google Analytics, a second OWOX GA4 host, Google Ads, its token.
POOL_MAXSIZE: Final = 32
POOL_ORIGINS: Final = 8


def _tls_context() -> ssl.SSLContext:
    """Certificates and host names verified (TLS 1.2 or later), loaded once for every connection.

    requests verified against certifi's bundle, so this does too when certifi is installed (it
    is: requests and the Google clients depend on it); otherwise the system's store. Loaded here
    once, rather than per connection as `ca_certs=` would (urllib3's ssl_wrap_socket loads the
    file on every handshake).
    """
    context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
    try:
        import certifi
    except ImportError:
        context.load_default_certs()
    else:
        context.load_verify_locations(certifi.where())
    return context


def _new_pools(maxsize: int = POOL_MAXSIZE) -> PoolManager:
    # urllib3 reads no proxy or .netrc settings from the environment: destinations are reached
    # directly (requests' trust_env cost as much CPU per send as the rest of a push).
    pools = PoolManager(
        num_pools=POOL_ORIGINS,
        maxsize=maxsize,
        block=False,
        retries=RETRY,
        cert_reqs=ssl.CERT_REQUIRED,
        ssl_context=_tls_context(),
    )
    pools.pool_classes_by_scheme = {"http": WatchedPool, "https": WatchedHTTPSPool}
    return pools


@functools.cache
def _pools() -> PoolManager:
    """The process-wide connection pools, one per destination origin, made on first use."""
    return _new_pools()


@functools.lru_cache(maxsize=64)
def _origin(scheme: str, netloc: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of an origin as urllib3 reads it (lower-cased, IDNA-encoded)."""
    url = parse_url(f"{scheme}://{netloc}")
    if url.scheme is None or url.host is None:
        raise LocationValueError(f"no host in {scheme}://{netloc}")
    return url.scheme, url.host, url.port


def _pool_and_target(url: str) -> tuple[HTTPConnectionPool, str]:
    """The pool for `url`'s origin, and the path and query to ask it for.

    urllib3 percent-encodes whatever request target it is given; a whole URL would be encoded
    once more to find its pool (parse_url), and a hit URL is long. So only the origin is parsed
    by urllib3, split off by the standard library (RFC 3986: the authority ends at the first
    "/", "?" or "#"); the fragment is never sent, as urllib3 drops it from a whole URL too.
    """
    parts = urlsplit(url)
    scheme, host, port = _origin(parts.scheme, parts.netloc)
    pool = _pools().connection_from_host(host, port, scheme)
    target = parts.path or "/"
    return pool, f"{target}?{parts.query}" if parts.query else target


class NoAnswer(Exception):
    """No answer was had: str() names the failure as dispatch's logs always have (the soak counts
    "no answer within" and "ReadTimeout" as sends the destination may still have counted)."""


def _exchange(
    method: str, url: str, body: bytes | None, headers: Mapping[str, str], timeout_s: float
) -> tuple[int, bytes]:
    """One request within `timeout_s` in all, no redirect followed: (status, body).

    Raises NoAnswer when the request failed or the answer was not read whole in time.
    """
    with send_deadline(timeout_s) as deadline:
        try:
            response = _request(method, url, body, headers, timeout_s)
        except HTTPError as error:
            raise NoAnswer(_no_answer(deadline, timeout_s, _failure(error))) from None
        try:
            # Read here, not in urlopen (preload_content), so that a body cut off mid-read is
            # told from a request that failed. Read whole, or failing, the response gives its
            # connection back to the pool (urllib3's HTTPResponse._error_catcher), while this
            # send's deadline is still the current one.
            answer = response.read()
        except HTTPError as error:
            raise NoAnswer(_no_answer(deadline, timeout_s, _cut_off(error))) from None
    return response.status, answer


def _request(
    method: str, url: str, body: bytes | None, headers: Mapping[str, str], timeout_s: float
) -> BaseHTTPResponse:
    pool, target = _pool_and_target(url)
    return pool.urlopen(
        method,
        target,
        # No body, no Content-Length header on a GET (as requests sent it).
        body=body or None,
        headers=dict(headers),
        retries=RETRY,
        redirect=False,
        timeout=Timeout(connect=timeout_s, read=timeout_s),
        preload_content=False,
    )


def _no_answer(deadline: Deadline, timeout_s: float, failure: str) -> str:
    # Cut by the deadline, the socket reports whatever it saw last: name the deadline instead.
    return f"no answer within {timeout_s:g} s" if deadline.expired else failure


def _failure(error: HTTPError) -> str:
    """The name requests gave a request that failed (a connect timeout sent nothing; a read
    timeout may have been counted), unwrapped from urllib3's retry exhaustion.

    One deliberate difference: a GET's read timeout is named ReadTimeout (requests said
    ConnectionError for a retryable method's, POST's was already ReadTimeout).
    """
    cause = error.reason if isinstance(error, MaxRetryError) else error
    if isinstance(cause, ConnectTimeoutError) and not isinstance(cause, NewConnectionError):
        return "ConnectTimeout"
    if isinstance(cause, ReadTimeoutError):
        return "ReadTimeout"
    if isinstance(cause, SSLError):
        return "SSLError"
    if isinstance(cause, LocationValueError):
        return "InvalidURL"
    return "ConnectionError"


def _cut_off(error: HTTPError) -> str:
    """requests' name for an answer whose body could not be read whole."""
    if isinstance(error, ProtocolError):
        return "ChunkedEncodingError"
    if isinstance(error, DecodeError):
        return "ContentDecodingError"
    return _failure(error)


def send(request: OutboundRequest, settings: Settings) -> int:
    """Send and classify the answer within HTTP_TIMEOUT_SECONDS in all: returns the 2xx status.

    Raises DestinationUnavailable (deadline passed, connection error, 408, 429, 5xx) or
    DestinationRejected (any other status).
    """
    try:
        status, answer = _exchange(
            request.method, request.url, request.body, request.headers, settings.http_timeout_s
        )
    except NoAnswer as error:
        raise DestinationUnavailable(f"{error} from destination") from None
    if request.read_answer is not None:
        request.read_answer(status, answer)
    if 200 <= status < 300:
        return status
    if status in (408, 429) or status >= 500:
        raise DestinationUnavailable(f"destination answered HTTP {status}")
    raise DestinationRejected(f"destination answered HTTP {status}")


def post_form(
    url: str, form: Mapping[str, str], headers: Mapping[str, str], timeout_s: float
) -> tuple[int, bytes]:
    """POST `form` URL-encoded within `timeout_s` in all, no redirect followed: (status, body).

    Raises NoAnswer as `send` does before it classifies.
    """
    body = urlencode(form).encode()
    form_headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    return _exchange("POST", url, body, form_headers, timeout_s)
