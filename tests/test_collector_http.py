"""The http collector against a real local server: status, headers masked, client port, errors."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from premortem.collectors.http import fetch
from premortem.redact import MASK


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        # Recorded before answering: the client may assert as soon as it has the body.
        self.server.client_ports.append(self.client_address[1])  # type: ignore[attr-defined]
        body = b"<html>" + b"x" * 5000 + b"Error establishing a database connection</html>"
        self.send_response(500)
        self.send_header("Set-Cookie", "wordpress_sec=abcdef; HttpOnly")
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.client_ports = []  # type: ignore[attr-defined]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()


def test_answer_is_recorded_with_secrets_masked(server: ThreadingHTTPServer) -> None:
    http = fetch(f"http://127.0.0.1:{server.server_address[1]}/")
    assert http.status == 500 and not http.healthy
    assert http.headers["set-cookie"] == MASK
    assert "Error establishing a database connection" in http.body
    assert len(http.body_excerpt) == 2048
    assert http.client_port == server.client_ports[-1]  # type: ignore[attr-defined]
    assert "set-cookie" in http.to_dict()["headers"]


def test_refused_and_dns_failures_are_evidence() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    refused = fetch(f"http://127.0.0.1:{port}/", timeout=2)
    assert refused.error_kind == "refused" and refused.status is None
    dns = fetch("http://no-such-host.invalid/", timeout=2)
    assert dns.error_kind == "dns"


def test_timeout_is_evidence() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()  # accepts into the backlog but never answers
        port = sock.getsockname()[1]
        slow = fetch(f"http://127.0.0.1:{port}/", timeout=0.5)
    assert slow.error_kind == "timeout"
