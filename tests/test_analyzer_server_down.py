"""server-down: a refused connection explained by the server's state and config."""

from __future__ import annotations

import socket

from fixtures.diagnose.recorded import with_files
from premortem.analyzers import server_down
from premortem.collectors import EvidenceSet
from premortem.collectors.http import HttpEvidence, fetch
from premortem.collectors.server import ApacheSite, NginxSite, RunningServer, ServerEvidence
from premortem.siteconfig import SiteConfig


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def refused(port: int) -> HttpEvidence:
    evidence = fetch(f"http://127.0.0.1:{port}/", timeout=2)
    assert evidence.error_kind == "refused"
    return evidence


def server(port: int, masters: list[RunningServer]) -> ServerEvidence:
    return ServerEvidence(
        port=port,
        apache=ApacheSite(config_file="/srv/lab/httpd.conf", listen=[f"127.0.0.1:{port}"]),
        installed={"apache": True},
        running={"apache": bool(masters)},
        masters=masters,
    )


def test_stopped_apache_with_its_own_config() -> None:
    port = closed_port()
    # Another Apache runs on the host with another config: not the one for this URL.
    other = RunningServer(4242, "apache", "/etc/other/httpd.conf", [8199])
    evidence = EvidenceSet(url="u", http=refused(port), server=server(port, [other]))
    [finding] = server_down.ServerDown().analyze(with_files(evidence))
    assert "not running" in finding.message and f"Listen {port}" in finding.message
    assert finding.fix is not None
    assert finding.fix.commands == ("/usr/sbin/apache2 -f /srv/lab/httpd.conf -k start",)


def test_stopped_lab_is_started_the_labs_way() -> None:
    # The site config's [lab] table says how the lab's servers are started (own PHP ini
    # dir, limits): the fix is `premortem lab up`, not a bare apache2 -k start.
    port = closed_port()
    site = SiteConfig(
        url=f"http://127.0.0.1:{port}/",
        site_root="/srv/lab/site",
        docroot="/srv/lab/site/current",
        extra={"lab": {"dir": "/srv/lab", "port": port}},
    )
    evidence = EvidenceSet(url="u", http=refused(port), server=server(port, []), site=site)
    [finding] = server_down.ServerDown().analyze(with_files(evidence))
    assert finding.fix is not None
    assert finding.fix.commands == (f"premortem lab up --dir /srv/lab --port {port}",)


def test_an_answering_server_does_not_fire() -> None:
    evidence = EvidenceSet(url="u", http=HttpEvidence(url="u", status=500))
    assert server_down.ServerDown().analyze(with_files(evidence)) == []


def test_stopped_nginx_of_an_nginx_site_is_named_nginx() -> None:
    # Apache is installed too (Debian pulls it in); the site config says nginx serves it.
    port = closed_port()
    evidence = EvidenceSet(
        url="u",
        http=refused(port),
        server=ServerEvidence(
            port=port,
            nginx=NginxSite(config_file="/srv/lab/nginx/nginx.conf", listen=[f"127.0.0.1:{port}"]),
            installed={"apache": True, "nginx": True},
            running={"apache": False, "nginx": False},
        ),
        site=SiteConfig(
            url=f"http://127.0.0.1:{port}/",
            site_root="/srv/lab/site",
            docroot="/srv/lab/site/current",
            server="nginx",
            server_config="/srv/lab/nginx/nginx.conf",
        ),
    )
    [finding] = server_down.ServerDown().analyze(with_files(evidence))
    assert finding.message.startswith("nginx is not running")
    assert finding.fix is not None
    assert finding.fix.commands == ("/usr/sbin/nginx -c /srv/lab/nginx/nginx.conf",)
