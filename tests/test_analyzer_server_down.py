"""server-down: a refused connection explained by the server's state and config."""

from __future__ import annotations

import socket

from premortem.analyzers import server_down
from premortem.collectors import EvidenceSet
from premortem.collectors.http import HttpEvidence, fetch
from premortem.collectors.server import ApacheSite, RunningServer, ServerEvidence


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
    [finding] = server_down.analyze(evidence)
    assert "not running" in finding.message and f"Listen {port}" in finding.message
    assert finding.fix is not None
    assert finding.fix.commands == ("/usr/sbin/apache2 -f /srv/lab/httpd.conf -k start",)


def test_same_apache_listening_elsewhere() -> None:
    port = closed_port()
    same = RunningServer(4242, "apache", "/srv/lab/httpd.conf", [8099])
    evidence = EvidenceSet(url="u", http=refused(port), server=server(port, [same]))
    [finding] = server_down.analyze(evidence)
    assert "listens on port(s) 8099" in finding.message


def test_an_answering_server_does_not_fire() -> None:
    evidence = EvidenceSet(url="u", http=HttpEvidence(url="u", status=500))
    assert server_down.analyze(evidence) == []
