"""redirect-loop over a real local HTTP server that redirects in a cycle."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fixtures.diagnose.recorded import with_files
from premortem.analyzers import redirect_loop
from premortem.collectors import EvidenceSet
from premortem.collectors.http import HttpEvidence, fetch

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
    [finding] = redirect_loop.RedirectLoop().analyze(
        with_files(EvidenceSet(url=http.url, http=http))
    )
    assert "/loop-b" in finding.quoted[0] and "/loop-a" in finding.quoted[0]


def test_single_redirect_to_a_page_does_not_fire(base_url: str) -> None:
    http = fetch(base_url + "/once")
    assert http.status == 200 and len(http.redirects) == 1
    assert (
        redirect_loop.RedirectLoop().analyze(with_files(EvidenceSet(url=http.url, http=http))) == []
    )


# Recorded on the lab (`lab break redirect-loop`): its .htaccess and the redirect chain.
RECORDED = Path(__file__).parent / "fixtures" / "diagnose" / "lab" / "redirect-loop"


def recorded_loop(docroot: Path, htaccess: str) -> EvidenceSet:
    data = json.loads((RECORDED / "http.json").read_text())
    url = "http://127.0.0.1:8181/"
    http = HttpEvidence(
        url=url,
        status=data["status"],
        reason=data["reason"],
        headers=data["headers"],
        redirects=[(status, location) for status, location in data["redirects"]],
        redirect_loop=data["redirect_loop"],
    )
    docroot.mkdir(parents=True, exist_ok=True)
    (docroot / ".htaccess").write_text(htaccess)
    return EvidenceSet(url=url, http=http, docroot=str(docroot))


def test_recorded_self_redirecting_rule_is_named_with_its_line(tmp_path: Path) -> None:
    htaccess = (RECORDED / "htaccess").read_text()
    [finding] = redirect_loop.RedirectLoop().analyze(
        with_files(recorded_loop(tmp_path / "site", htaccess))
    )
    assert (finding.file, finding.line) == (".htaccess", 4)
    assert "http://%{HTTP_HOST}%{REQUEST_URI}" in (finding.suggestion or "")
    assert finding.fix is not None and ".htaccess:4" in finding.fix.description


def test_correct_https_rule_is_not_blamed(tmp_path: Path) -> None:
    # Look-alike: the same file with the rule fixed (https://) cannot give the http:// loop;
    # WordPress's own `RewriteRule . /index.php` is no redirect either.
    htaccess = (RECORDED / "htaccess").read_text().replace("^ http://", "^ https://")
    [finding] = redirect_loop.RedirectLoop().analyze(
        with_files(recorded_loop(tmp_path / "site", htaccess))
    )
    assert finding.file is None and finding.line is None


def test_redirect_directive_in_a_cycle_is_found(tmp_path: Path) -> None:
    # A cycle of two: /a -> /b by .htaccess line 2, /b -> /a by line 3.
    url = "http://127.0.0.1:8181/a"
    http = HttpEvidence(
        url=url,
        status=302,
        redirects=[(302, "http://127.0.0.1:8181/b"), (302, "http://127.0.0.1:8181/a")],
        redirect_loop=True,
    )
    (tmp_path / ".htaccess").write_text("# cycle\nRedirect 302 /a /b\nRedirectMatch ^/b$ /a\n")
    [finding] = redirect_loop.RedirectLoop().analyze(
        with_files(EvidenceSet(url=url, http=http, docroot=str(tmp_path)))
    )
    assert (finding.file, finding.line) == (".htaccess", 2)


def test_rule_of_a_subdirectory_sees_the_path_below_it(tmp_path: Path) -> None:
    # blog/.htaccess: `^$` matches /blog/ itself (per-directory: the path below blog/).
    url = "http://127.0.0.1:8181/blog/"
    http = HttpEvidence(url=url, status=301, redirects=[(301, url)], redirect_loop=True)
    (tmp_path / "blog").mkdir()
    (tmp_path / "blog" / ".htaccess").write_text(
        "RewriteEngine On\nRewriteRule ^$ http://%{HTTP_HOST}/blog/ [R=301,L]\n"
    )
    [finding] = redirect_loop.RedirectLoop().analyze(
        with_files(EvidenceSet(url=url, http=http, docroot=str(tmp_path)))
    )
    assert (finding.file, finding.line) == ("blog/.htaccess", 2)
