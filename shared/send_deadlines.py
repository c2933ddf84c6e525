"""One deadline per send, in all: the connections a send borrows are cut when it passes.

urllib3's per-socket timeout bounds each socket operation, so an answer dripped a byte at a time
never times out. `send_deadline` marks the current thread's send; the pools below hand every
connection they lend to it; one watchdog thread per process shuts those sockets down at the
deadline, which ends a blocked read at once. Used by shared/sending.py.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError

if TYPE_CHECKING:
    from urllib3._base_connection import BaseHTTPConnection


class Deadline:
    """The connections one send uses, cut off together when its deadline passes.

    The per-socket timeout bounds each socket operation, so an answer dripped a byte at a time
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


class Watchdog:
    """One daemon thread that expires every send's deadline in this process.

    A thread started and cancelled per send cost about a quarter of dispatch's CPU per message;
    this one sleeps until the earliest deadline. A finished send's entry stays in the heap until
    it reaches the top (every deadline is at most HTTP_TIMEOUT_SECONDS away, so the heap holds at
    most that long's worth of sends) and is then dropped without expiring.
    """

    def __init__(self, thread_name: str = WATCHDOG_THREAD_NAME) -> None:
        self._thread_name = thread_name
        self._condition = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, Deadline]] = []
        self._sequence = itertools.count()  # ties on the time never compare two Deadlines
        self._thread: threading.Thread | None = None

    def register(self, deadline: Deadline, seconds: float) -> None:
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

    def _wait_for_due(self) -> list[Deadline]:
        with self._condition:
            while True:
                now = time.monotonic()
                due = self._pop_due(now)
                if due:
                    return due
                self._condition.wait(self._heap[0][0] - now if self._heap else None)

    def _pop_due(self, now: float) -> list[Deadline]:
        due: list[Deadline] = []
        while self._heap and (self._heap[0][0] <= now or self._heap[0][2].finished):
            deadline = heapq.heappop(self._heap)[2]
            if not deadline.finished:
                due.append(deadline)
        return due


_watchdog = Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_watchdog.forget_parent)

_current = threading.local()


@contextlib.contextmanager
def send_deadline(seconds: float) -> Iterator[Deadline]:
    """The current thread's send, cut off `seconds` from now unless it has finished."""
    deadline = Deadline()
    outer: Deadline | None = getattr(_current, "deadline", None)
    _current.deadline = deadline
    _watchdog.register(deadline, seconds)
    try:
        yield deadline
    finally:
        deadline.finish()
        _current.deadline = outer


class WatchedPool(HTTPConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> BaseHTTPConnection:
        connection = super()._get_conn(timeout)
        deadline: Deadline | None = getattr(_current, "deadline", None)
        if deadline is not None:
            deadline.watch(connection)
        return connection

    def _put_conn(self, conn: BaseHTTPConnection | None) -> None:
        # The send's own thread gives its connection back, so its deadline is the current one.
        deadline: Deadline | None = getattr(_current, "deadline", None)
        if deadline is not None and conn is not None:
            deadline.release(conn)
        super()._put_conn(conn)


class WatchedHTTPSPool(WatchedPool, HTTPSConnectionPool):
    pass
