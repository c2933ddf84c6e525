"""One deadline per send, against a loopback server that drips its answer.

A publish's deadline is tested with the publisher, in test_publish_batches.py.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.errors import DestinationUnavailable
from shared.hits.outbound import OutboundRequest
from shared.send_deadlines import WATCHDOG_THREAD_NAME
from shared.sending import send
from shared.settings import Settings

TIMEOUT_S = 0.6
SETTINGS = Settings(http_timeout_s=TIMEOUT_S, publish_timeout_s=TIMEOUT_S)
# Each byte arrives well inside the per-read timeout, so only a total deadline ends the wait.
DRIP_EVERY_S = 0.05
SLACK_S = 0.5
HEAD = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"
BODY_HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
# The server closes each connection after its answer: said so, no send reuses a closing one.
CLOSING_HEAD = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class DrippingServer:
    """A loopback HTTP server answering every request with `head`, then dripping `drip` bytes."""

    def __init__(self, head: bytes, drip: bytes) -> None:
        self.head, self.drip = head, drip
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/collect"

    def _serve(self) -> None:
        self.listener.settimeout(0.1)
        while not self.stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            try:
                connection.sendall(self.head)
                for byte in self.drip:
                    if self.stopped.wait(DRIP_EVERY_S):
                        return
                    connection.sendall(bytes([byte]))
            except OSError:
                return  # the client gave up, as it should


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[DrippingServer]:
    head, drip = request.param
    dripping = DrippingServer(head, drip)
    dripping.thread.start()
    try:
        yield dripping
    finally:
        dripping.stopped.set()
        dripping.thread.join()
        dripping.listener.close()


def _post(url: str) -> OutboundRequest:
    return OutboundRequest("POST", url, b"v=1&t=event", {"Content-Type": "text/plain"})


@pytest.mark.parametrize(
    "server",
    [
        pytest.param((b"", HEAD * 100), id="status line and headers dripped"),
        pytest.param((BODY_HEAD, b"x" * 100_000), id="body dripped after the headers"),
    ],
    indirect=True,
)
def test_destination_that_drips_its_answer_is_unavailable_at_the_deadline(
    server: DrippingServer,
) -> None:
    started = time.monotonic()
    with pytest.raises(DestinationUnavailable, match=f"no answer within {TIMEOUT_S:g} s"):
        send(_post(server.url), SETTINGS)
    assert TIMEOUT_S <= time.monotonic() - started < TIMEOUT_S + SLACK_S


@pytest.mark.parametrize("server", [pytest.param((HEAD, b""), id="prompt")], indirect=True)
def test_prompt_destination_is_sent_and_its_connection_survives_for_the_next_send(
    server: DrippingServer,
) -> None:
    assert send(_post(server.url), SETTINGS) == 204
    time.sleep(TIMEOUT_S + 0.1)  # past the first send's deadline: its timer must not fire late
    assert send(_post(server.url), SETTINGS) == 204


def _cut_after(url: str, timeout_s: float) -> tuple[str, bool]:
    """What a send with its own deadline raised, and whether it ended at that deadline."""
    started = time.monotonic()
    try:
        send(_post(url), Settings(http_timeout_s=timeout_s))
    except DestinationUnavailable as error:
        outcome = str(error)
    else:
        outcome = "sent"
    return outcome, timeout_s <= time.monotonic() - started < timeout_s + SLACK_S


@pytest.mark.parametrize(
    "server", [pytest.param((BODY_HEAD, b"x" * 100_000), id="body dripped")], indirect=True
)
def test_concurrent_sends_are_each_cut_at_their_own_deadline(server: DrippingServer) -> None:
    # Deadlines further apart than the slack: a send cut at another's deadline is seen.
    timeouts_s = [0.3, 0.9, 1.5] * 2
    with ThreadPoolExecutor(max_workers=len(timeouts_s)) as sends:
        cuts = list(sends.map(lambda timeout_s: _cut_after(server.url, timeout_s), timeouts_s))
    assert cuts == [
        (f"no answer within {timeout_s:g} s from destination", True) for timeout_s in timeouts_s
    ]


@pytest.mark.parametrize(
    "server", [pytest.param((CLOSING_HEAD, b""), id="prompt, closing")], indirect=True
)
def test_many_concurrent_sends_share_one_watchdog_thread(server: DrippingServer) -> None:
    with ThreadPoolExecutor(max_workers=8) as sends:
        statuses = list(sends.map(lambda _: send(_post(server.url), SETTINGS), range(200)))
    watchdogs = [thread for thread in threading.enumerate() if thread.name == WATCHDOG_THREAD_NAME]
    assert (set(statuses), len(watchdogs)) == ({204}, 1)
