"""A send's deadline never cuts a connection the send has given back to the pool.

Found by the 10,000-call soak: a send answered just inside its deadline returns its keep-alive
connection to the pool, another send takes it and writes its hit, and the first send's timer
then fires and shuts that socket down. The destination has counted the second hit, but dispatch
sees a ConnectionError, answers 503, and the redelivery sends the hit again: a duplicate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared.hits.outbound import OutboundRequest
from shared.send_deadlines import send_deadline
from shared.sending import _new_pools, _request, send
from shared.settings import Settings

# The first send's deadline fires while the second send waits for its (slower) answer.
FIRST_DEADLINE_S = 0.3
SECOND_ANSWER_AFTER_S = 0.6


class Counting(ThreadingHTTPServer):
    """A keep-alive loopback server: answers /fast at once and /slow later; counts requests."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the pool lends the same connection again
    server: Counting

    def do_GET(self) -> None:
        self.server.received.append(self.path)
        if self.path == "/slow":
            time.sleep(SECOND_ANSWER_AFTER_S)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[Counting]:
    counting = Counting()
    threading.Thread(target=counting.serve_forever, daemon=True).start()
    yield counting
    counting.shutdown()
    counting.server_close()


def test_a_finished_send_whose_timer_fires_late_leaves_the_next_send_alone(
    server: Counting, monkeypatch: pytest.MonkeyPatch
) -> None:
    pools = _new_pools(maxsize=1)  # one connection, so the second send takes the first's
    monkeypatch.setattr("shared.sending._pools", lambda: pools)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    outcome: list[object] = []

    def second_send() -> None:
        request = OutboundRequest("GET", f"{base}/slow", b"", {})
        try:
            outcome.append(send(request, Settings(http_timeout_s=5)))
        except Exception as error:  # whatever it was, the assertion shows it
            outcome.append(error)

    # The first send is answered and its connection goes back to the pool, but its deadline
    # has not been cancelled yet (as when its thread is descheduled right after the answer).
    with send_deadline(FIRST_DEADLINE_S):
        response = _request("GET", f"{base}/fast", None, {}, timeout_s=5)
        assert (response.status, response.read()) == (204, b"")  # read whole: back in the pool
        other = threading.Thread(target=second_send)
        other.start()
        time.sleep(FIRST_DEADLINE_S + 0.1)  # the first send's timer fires now
    other.join(timeout=5)

    assert (server.received, outcome) == (["/fast", "/slow"], [204])
