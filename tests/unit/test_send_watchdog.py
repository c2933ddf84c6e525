"""The send deadline watchdog: one thread that cuts a send's sockets at its deadline, never after
the send has finished, and wakes early for a deadline earlier than the one it sleeps on.

A socket pair stands in for a send's connection: the peer reads end-of-file once the watchdog
has shut the connection's socket down.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from urllib3.connection import HTTPConnection

from shared.send_deadlines import WATCHDOG_THREAD_NAME, Deadline, Watchdog, send_deadline

SHORT_S = 0.2
LONG_S = 30.0
# How late past its deadline a cut may come on a loaded machine (as the send deadline tests allow).
SLACK_S = 0.5


@pytest.fixture
def socket_connection() -> Iterator[tuple[HTTPConnection, socket.socket]]:
    """A connection whose socket is one end of a pair, and the other end."""
    ours, peer = socket.socketpair()
    connection = HTTPConnection("127.0.0.1")
    connection.sock = ours
    with ours, peer:
        yield connection, peer


def _shut_down(peer: socket.socket) -> bool:
    peer.setblocking(False)
    try:
        return peer.recv(1) == b""  # end of file: the other end was shut down
    except BlockingIOError:
        return False  # open, with nothing to read


def _eventually(condition: Callable[[], bool], within_s: float) -> bool:
    give_up = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > give_up:
            return False
        time.sleep(0.01)
    return True


def test_a_deadline_is_cut_at_its_time(
    socket_connection: tuple[HTTPConnection, socket.socket],
) -> None:
    connection, peer = socket_connection
    with send_deadline(SHORT_S) as deadline:
        deadline.watch(connection)
        assert _eventually(lambda: deadline.expired, within_s=SHORT_S + SLACK_S)
        assert _shut_down(peer)


def test_a_finished_deadline_never_expires_even_with_a_connection_it_still_watched(
    socket_connection: tuple[HTTPConnection, socket.socket],
) -> None:
    connection, peer = socket_connection
    with send_deadline(SHORT_S) as deadline:
        deadline.watch(connection)  # and never released, so only finishing protects it
    time.sleep(SHORT_S + SLACK_S)
    assert (deadline.expired, _shut_down(peer)) == (False, False)


def test_a_deadline_the_watchdog_took_just_before_the_send_finished_does_not_expire(
    socket_connection: tuple[HTTPConnection, socket.socket],
) -> None:
    connection, peer = socket_connection
    deadline = Deadline()
    deadline.watch(connection)
    deadline.finish()
    deadline.expire()  # the watchdog's late call, after it popped the deadline as unfinished
    assert (deadline.expired, _shut_down(peer)) == (False, False)


def test_a_deadline_earlier_than_the_one_the_watchdog_sleeps_on_wakes_it(
    socket_connection: tuple[HTTPConnection, socket.socket],
) -> None:
    # A watchdog of its own, so no other test's deadline wakes it early by chance.
    watchdog = Watchdog(thread_name="test-watchdog-earlier-deadline")
    later, earlier = Deadline(), Deadline()
    watchdog.register(later, LONG_S)
    time.sleep(0.1)  # the watchdog now sleeps until LONG_S
    connection, peer = socket_connection
    earlier.watch(connection)
    watchdog.register(earlier, SHORT_S)

    assert _eventually(lambda: earlier.expired, within_s=SHORT_S + SLACK_S)
    assert (_shut_down(peer), later.expired) == (True, False)
    later.finish()


def test_a_watchdog_whose_thread_is_gone_starts_another_on_the_next_deadline() -> None:
    watchdog = Watchdog(thread_name="test-watchdog-restarted")
    gone = threading.Thread(target=lambda: None)
    gone.start()
    gone.join()
    watchdog._thread = gone  # as a thread that died
    deadline = Deadline()
    watchdog.register(deadline, SHORT_S)
    assert _eventually(lambda: deadline.expired, within_s=SHORT_S + SLACK_S)


def _watchdog_threads() -> int:
    return sum(thread.name == WATCHDOG_THREAD_NAME for thread in threading.enumerate())


def _child_cuts_its_own_deadline() -> bool:
    ours, peer = socket.socketpair()
    connection = HTTPConnection("127.0.0.1")
    connection.sock = ours
    with send_deadline(SHORT_S) as deadline:
        deadline.watch(connection)
        cut = _eventually(lambda: deadline.expired, within_s=SHORT_S + SLACK_S)
    return cut and _shut_down(peer) and _watchdog_threads() == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.filterwarnings("ignore:.*use of fork\\(\\) may lead to deadlocks:DeprecationWarning")
def test_a_forked_child_gets_a_watchdog_of_its_own() -> None:
    with send_deadline(LONG_S):
        pass  # the parent's watchdog runs, sleeping on this deadline, when the child is forked
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if _child_cuts_its_own_deadline() else 1
        finally:
            os._exit(code)  # never back into pytest in the child
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
