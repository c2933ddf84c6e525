"""What `send` puts on the wire and how it reads the answer, against a loopback server: the
request target exactly as built, no redirect followed, no status retried, certificates verified.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared.errors import DestinationRejected, DestinationUnavailable
from shared.hits.outbound import OutboundRequest
from shared.sending import NoAnswer, post_form, send
from shared.settings import Settings

SETTINGS = Settings(http_timeout_s=5)
# path → status and headers of the answer; any other path is answered 204.
ANSWERS: dict[str, tuple[int, dict[str, str]]] = {
    "/moved": (302, {"Location": "/elsewhere"}),
    "/busy": (503, {"Retry-After": "0"}),
}


class Recording(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[tuple[str, str, bytes]] = []

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Recording

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append((self.command, self.path, body))
        status, headers = ANSWERS.get(self.path, (204, {}))
        self.send_response(status)
        for name, value in {**headers, "Content-Length": "0"}.items():
            self.send_header(name, value)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


def _serve(server: Recording) -> Iterator[Recording]:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def server() -> Iterator[Recording]:
    yield from _serve(Recording())


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[Recording]:
    """The same server behind TLS, with a self-signed certificate for 127.0.0.1 that no
    certificate authority vouches for."""
    recording = Recording()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*_self_signed(tmp_path))
    recording.socket = context.wrap_socket(recording.socket, server_side=True)
    yield from _serve(recording)


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    loopback = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(loopback, critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_the_path_and_query_are_sent_as_built_and_the_fragment_is_not(server: Recording) -> None:
    target = "/UA-1/collect?dl=https%3A%2F%2Fexample.com%2Fa&tel=%2B12015550123&ds=call%20center"
    request = OutboundRequest("GET", f"{server.url()}{target}#fragment", b"", {})
    assert send(request, SETTINGS) == 204
    assert server.received == [("GET", target, b"")]


def test_a_redirect_is_not_followed(server: Recording) -> None:
    with pytest.raises(DestinationRejected, match="destination answered HTTP 302"):
        send(OutboundRequest("GET", f"{server.url()}/moved"), SETTINGS)
    assert [path for _, path, _ in server.received] == ["/moved"]


def test_a_busy_answer_is_neither_retried_nor_hidden_behind_its_retry_after(
    server: Recording,
) -> None:
    with pytest.raises(DestinationUnavailable, match="destination answered HTTP 503"):
        send(OutboundRequest("GET", f"{server.url()}/busy"), SETTINGS)
    assert [path for _, path, _ in server.received] == ["/busy"]


def test_a_form_is_posted_url_encoded(server: Recording) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": "1//a+b/c="}
    assert post_form(f"{server.url()}/token", form, {}, timeout_s=5) == (204, b"")
    assert server.received == [
        ("POST", "/token", b"grant_type=refresh_token&refresh_token=1%2F%2Fa%2Bb%2Fc%3D")
    ]


def test_a_certificate_no_authority_vouches_for_is_refused_before_anything_is_sent(
    tls_server: Recording,
) -> None:
    with pytest.raises(DestinationUnavailable, match="SSLError from destination"):
        send(OutboundRequest("POST", f"{tls_server.url('https')}/collect", b"v=1"), SETTINGS)
    with pytest.raises(NoAnswer, match="SSLError"):
        post_form(f"{tls_server.url('https')}/token", {"a": "b"}, {}, timeout_s=5)
    assert tls_server.received == []
