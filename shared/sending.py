"""Sending a built request: the process-wide HTTP session, one deadline per send, the answer
classified.

Every destination's request goes through `send`; building it is the destination's job
(shared/hits/outbound.py).
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError
from urllib3.util.retry import Retry

from shared.errors import DestinationRejected, DestinationUnavailable
from shared.hits.outbound import OutboundRequest
from shared.settings import Settings

if TYPE_CHECKING:
    from urllib3._base_connection import BaseHTTPConnection


class _Deadline:
    """The connections one send uses, cut off together when its deadline passes.

    requests' `timeout` bounds each socket operation, so an answer dripped a byte at a time
    never times out: at the deadline the watchdog shuts the sockets down, which ends the blocked
    read at once. A connect under way then ends at its own timeout, and no retry starts.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: list[BaseHTTPConnection] = []
        self.expired = False
        # Read by the watchdog without the lock only to drop the entry early; `expire` decides.
        self.finished = False

    def watch(self, connection: BaseHTTPConnection) -> None:
        with self._lock:
            if self.expired:
                raise ConnectTimeoutError(connection, "send deadline passed")
            self._connections.append(connection)

    def release(self, connection: BaseHTTPConnection) -> None:
        """The send gave the connection back to the pool: from now on it may carry another
        send's hit, so this deadline must never cut it (that hit would be sent twice)."""
        with self._lock, contextlib.suppress(ValueError):
            self._connections.remove(connection)

    def finish(self) -> None:
        """The send is over: whatever it still holds may soon carry another send's hit, so this
        deadline never expires from now on, however late the watchdog gets to it."""
        with self._lock:
            self.finished = True
            self._connections.clear()

    def expire(self) -> None:
        # Shut down under the lock: a release waits, so a connection goes back to the pool
        # either untouched or already shut down (the pool then sees it dropped and reconnects).
        with self._lock:
            if self.finished:
                return
            self.expired = True
            for connection in self._connections:
                sock = getattr(connection, "sock", None)
                if isinstance(sock, socket.socket):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)


WATCHDOG_THREAD_NAME = "send-deadline-watchdog"


class _Watchdog:
    """One daemon thread that expires every send's deadline in this process.

    A thread started and cancelled per send cost about a quarter of dispatch's CPU per message;
    this one sleeps until the earliest deadline. A finished send's entry stays in the heap until
    it reaches the top (every deadline is at most HTTP_TIMEOUT_SECONDS away, so the heap holds at
    most that long's worth of sends) and is then dropped without expiring.
    """

    def __init__(self, thread_name: str = WATCHDOG_THREAD_NAME) -> None:
        self._thread_name = thread_name
        self._condition = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._sequence = itertools.count()  # ties on the time never compare two _Deadlines
        self._thread: threading.Thread | None = None

    def register(self, deadline: _Deadline, seconds: float) -> None:
        """Expire `deadline` `seconds` from now unless it has finished by then."""
        at = time.monotonic() + seconds
        with self._condition:
            self._keep_running()
            heapq.heappush(self._heap, (at, next(self._sequence), deadline))
            # A later deadline needs no wake-up: the watchdog wakes for an earlier one first.
            if self._heap[0][2] is deadline:
                self._condition.notify()

    def forget_parent(self) -> None:
        """In a forked child: the parent's threads, their sends and the watchdog are gone, and
        the lock may have been copied held, so start over."""
        self._condition = threading.Condition(threading.Lock())
        self._heap = []
        self._thread = None

    def _keep_running(self) -> None:
        # Under the condition, so two first sends never start two watchdogs.
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            # Outside the condition: expiring waits for the send's own lock, and registering
            # must not wait behind that.
            for deadline in self._wait_for_due():
                deadline.expire()

    def _wait_for_due(self) -> list[_Deadline]:
        with self._condition:
            while True:
                now = time.monotonic()
                due = self._pop_due(now)
                if due:
                    return due
                self._condition.wait(self._heap[0][0] - now if self._heap else None)

    def _pop_due(self, now: float) -> list[_Deadline]:
        due: list[_Deadline] = []
        while self._heap and (self._heap[0][0] <= now or self._heap[0][2].finished):
            deadline = heapq.heappop(self._heap)[2]
            if not deadline.finished:
                due.append(deadline)
        return due


_watchdog = _Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_watchdog.forget_parent)

_current = threading.local()


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[_Deadline]:
    deadline = _Deadline()
    _current.deadline = deadline
    _watchdog.register(deadline, seconds)
    try:
        yield deadline
    finally:
        deadline.finish()
        _current.deadline = None


class _WatchedPool(HTTPConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> BaseHTTPConnection:
        connection = super()._get_conn(timeout)
        deadline: _Deadline | None = getattr(_current, "deadline", None)
        if deadline is not None:
            deadline.watch(connection)
        return connection

    def _put_conn(self, conn: BaseHTTPConnection | None) -> None:
        # The send's own thread gives its connection back, so its deadline is the current one.
        deadline: _Deadline | None = getattr(_current, "deadline", None)
        if deadline is not None and conn is not None:
            deadline.release(conn)
        super()._put_conn(conn)


class _WatchedHTTPSPool(_WatchedPool, HTTPSConnectionPool):
    pass


class _DeadlineAdapter(HTTPAdapter):
    """An adapter whose pools hand every connection they lend to the current send's deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedPool,
            "https": _WatchedHTTPSPool,
        }


@functools.cache
def http_session() -> requests.Session:
    """The process-wide HTTP session with a connection pool, made on first use."""
    session = requests.Session()
    # Destinations are reached directly: reading proxy and .netrc settings from the environment
    # on every send cost as much CPU as the rest of a push (measured by the benchmark).
    session.trust_env = False
    # Retry connection failures only: a hit is not idempotent, so a sent one is never re-sent.
    retry = Retry(total=2, connect=2, read=0, status=0, other=0, backoff_factor=0.2)
    adapter = _DeadlineAdapter(max_retries=retry, pool_connections=4, pool_maxsize=32)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def send(request: OutboundRequest, settings: Settings) -> int:
    """Send and classify the answer within HTTP_TIMEOUT_SECONDS in all: returns the 2xx status.

    Raises DestinationUnavailable (deadline passed, connection error, 408, 429, 5xx) or
    DestinationRejected (any other status).
    """
    timeout_s = settings.http_timeout_s
    with _deadline(timeout_s) as deadline:
        try:
            response = http_session().request(
                request.method,
                request.url,
                data=request.body,
                headers=dict(request.headers),
                timeout=timeout_s,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            # A body cut off mid-read is a ChunkedEncodingError, not a Timeout: all are transient.
            what = f"no answer within {timeout_s:g} s" if deadline.expired else type(error).__name__
            raise DestinationUnavailable(f"{what} from destination") from None
    status = response.status_code
    # requests has read the body already (no stream=True), within the deadline.
    answer = response.content if request.read_answer is not None else b""
    response.close()
    if request.read_answer is not None:
        request.read_answer(status, answer)
    if 200 <= status < 300:
        return status
    if status in (408, 429) or status >= 500:
        raise DestinationUnavailable(f"destination answered HTTP {status}")
    raise DestinationRejected(f"destination answered HTTP {status}")
