"""A page that lost its body fails stage, verify and diagnose (issue #11).

With the shared wp-config.php pointing WordPress at shared/wp-content, the home page answered
200 with 0 bytes; stage and verify passed it because they looked at the status only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from premortem.collectors.http import HttpEvidence, lost_body
from premortem.ops.deploy.steps import recorded_sizes
from premortem.ops.deploy.verify import verify_production
from premortem.store import open_store

PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>site</title></head><body>"
    + b"x" * 4000
    + b"</body></html>"
)
PAGES: dict[str, tuple[int, str, bytes]] = {
    "/": (200, "text/html; charset=UTF-8", b""),
    "/small": (200, "text/html; charset=UTF-8", b"<html><body>maintenance</body></html>"),
    "/fragment": (200, "text/html", b"<p>no document</p>"),
    "/page": (200, "text/html; charset=UTF-8", PAGE),
    "/moved": (301, "text/html", b""),
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, content_type, body = PAGES[self.path]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status == 301:
            self.send_header("Location", "/page")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_lost_body_empty_no_html_and_shrunk() -> None:
    html = "text/html; charset=UTF-8"
    assert lost_body(200, html, b"") == "an empty body"
    assert lost_body(200, "application/json", b"") == "an empty body"
    assert lost_body(200, html, b"<p>x</p>") == "no <html> in its 8-byte HTML body"
    assert lost_body(200, html, b"\n<!doctype HTML><title>t</title>") is None
    assert lost_body(200, html, PAGE, previous_bytes=len(PAGE)) is None
    shrunk = lost_body(200, html, b"<html></html>", previous_bytes=50_000)
    assert shrunk == "a 13-byte body, 0% of the 50000 bytes it served before"
    # Redirects, errors and 204 have bodies of their own.
    assert lost_body(301, html, b"") is None
    assert lost_body(500, html, b"") is None
    assert lost_body(204, html, b"") is None


def test_verify_fails_a_page_answering_200_with_an_empty_body(site: str) -> None:
    result = verify_production(site, ["/"], "", log_offset=0, window=5, interval=0.05)
    assert not result.ok
    assert result.reason == "/ answered 200 with an empty body in two probe rounds in a row"
    assert result.seconds < 4


def test_verify_fails_a_page_a_fraction_of_the_previous_release(site: str) -> None:
    result = verify_production(
        site,
        ["/small"],
        "",
        log_offset=0,
        window=5,
        interval=0.05,
        previous_sizes={"/small": 50_000},
    )
    assert not result.ok and "0% of the 50000 bytes it served before" in result.reason


def test_verify_passes_pages_and_redirects_and_records_their_sizes(site: str) -> None:
    result = verify_production(
        site, ["/page", "/moved"], "", log_offset=0, window=0.2, interval=0.05
    )
    assert result.ok, result.reason
    assert result.sizes == {"/page": len(PAGE)}  # a redirect is no page to compare


def test_the_previous_release_sizes_come_from_its_last_stage_or_verify(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        store.add_event("deploy.stage", "stage", data={"release": "r1", "sizes": {"/": 10}})
        store.add_event("deploy.verify", "verified", data={"release": "r1", "sizes": {"/": 12}})
        store.add_event("deploy.verify", "verified", data={"release": "r2", "sizes": {"/": 99}})
        store.add_event("deploy.verify", "failed", data={"release": "r1", "sizes": {}})
        assert recorded_sizes(store, "r1") == {"/": 12}
        assert recorded_sizes(store, "r3") == {}


def test_diagnose_does_not_call_an_empty_html_page_healthy() -> None:
    blank = HttpEvidence(url="http://x/", status=200, content_type="text/html; charset=UTF-8")
    assert not blank.healthy and blank.body_problem == "an empty body"
    page = HttpEvidence(url="http://x/", status=200, content_type="text/html", body=PAGE.decode())
    assert page.healthy
    api = HttpEvidence(url="http://x/ping", status=200, content_type="application/json")
    assert api.healthy  # an empty answer of an API is not a page that lost its body
