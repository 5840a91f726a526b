"""A local HTTPS server for tests: a throwaway CA, a certificate for a name, SNI recorded."""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from premortem.ops.lab import pki


@dataclass
class Seen:
    """What the server saw of each request: the SNI name and the Host header."""

    sni: list[str | None] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.seen.hosts.append(self.headers.get("Host", ""))  # type: ignore[attr-defined]
        body = b"<!doctype html><html><body>hello over https</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def write_pki(
    directory: Path,
    names: list[str],
    *,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> tuple[Path, Path, Path]:
    """(ca.pem, server cert with its chain, server key) for `names` under `directory`."""
    root = pki.make_ca("test root CA")
    server = pki.make_server_cert(root, names, not_before=not_before, not_after=not_after)
    ca, cert, key = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    pki.write_file(ca, pki.cert_pem(root.cert))
    pki.write_file(cert, pki.cert_pem(server.cert))
    pki.write_file(key, pki.key_pem(server.key), 0o600)
    return ca, cert, key


@contextmanager
def https_server(cert: Path, key: Path) -> Iterator[tuple[int, Seen]]:
    """An HTTPS server on 127.0.0.1 (a free port) serving `cert`; (port, what it saw)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    seen = Seen()

    def remember_sni(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        seen.sni.append(name)

    context.sni_callback = remember_sni  # type: ignore[assignment]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.seen = seen  # type: ignore[attr-defined]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield httpd.server_address[1], seen
    finally:
        httpd.shutdown()
        httpd.server_close()
