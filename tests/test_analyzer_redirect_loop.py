"""redirect-loop over a real local HTTP server that redirects in a cycle."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from premortem.analyzers import redirect_loop
from premortem.collectors import EvidenceSet
from premortem.collectors.http import fetch

ROUTES = {"/loop-a": "/loop-b", "/loop-b": "/loop-a", "/once": "/final"}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        target = ROUTES.get(self.path)
        if target:
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_cycle_fires(base_url: str) -> None:
    http = fetch(base_url + "/loop-a")
    [finding] = redirect_loop.analyze(EvidenceSet(url=http.url, http=http))
    assert "/loop-b" in finding.evidence[0] and "/loop-a" in finding.evidence[0]


def test_single_redirect_to_a_page_does_not_fire(base_url: str) -> None:
    http = fetch(base_url + "/once")
    assert http.status == 200 and len(http.redirects) == 1
    assert redirect_loop.analyze(EvidenceSet(url=http.url, http=http)) == []
