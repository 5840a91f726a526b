"""not-listening: the site's Apache runs but listens elsewhere (recorded lab httpd.conf)."""

from __future__ import annotations

import socket
from pathlib import Path

from fixtures.diagnose.recorded import LAB, substitute, with_files
from premortem.analyzers import not_listening
from premortem.collectors import EvidenceSet
from premortem.collectors.http import HttpEvidence, fetch
from premortem.collectors.server import (
    NginxSite,
    RunningServer,
    ServerEvidence,
    read_apache_site,
)

RECORDED_OTHER_PORT = 39369  # the Listen port `lab break apache-other-port` wrote


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def recorded_config(tmp_path: Path) -> Path:
    """The lab's httpd.conf as `lab break apache-other-port` left it (Listen on line 4)."""
    text = substitute((LAB / "apache-other-port" / "httpd.conf").read_text(), tmp_path, tmp_path)
    conf = tmp_path / "apache" / "httpd.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(text)
    return conf


def evidence_for(port: int, conf: Path, masters: list[RunningServer]) -> EvidenceSet:
    http = fetch(f"http://127.0.0.1:{port}/", timeout=2)
    assert http.error_kind == "refused"
    apache = read_apache_site([], config_file=str(conf), port=port)
    server = ServerEvidence(
        port=port,
        apache=apache,
        installed={"apache": True},
        running={"apache": bool(masters)},
        masters=masters,
    )
    return EvidenceSet(url=http.url, http=http, server=server)


def test_apache_on_another_port_fires_with_the_listen_line(tmp_path: Path) -> None:
    conf = recorded_config(tmp_path)
    port = closed_port()
    master = RunningServer(4242, "apache", str(conf), [RECORDED_OTHER_PORT])
    [finding] = not_listening.NotListening().analyze(with_files(evidence_for(port, conf, [master])))
    assert finding.rule == "not-listening"
    assert (finding.file, finding.line) == (str(conf), 4)
    assert f"listens on port {RECORDED_OTHER_PORT}" in finding.message
    assert finding.fix is not None
    assert f"{conf}:4" in finding.fix.description and f"to {port}" in finding.fix.description
    assert finding.fix.commands == (f"/usr/sbin/apache2 -f {conf} -k graceful",)
    assert f"config: {conf}:4: Listen 127.0.0.1:{RECORDED_OTHER_PORT}" in finding.quoted


def test_stopped_apache_does_not_fire(tmp_path: Path) -> None:
    # Nothing runs: that is server-down, not this rule.
    conf = recorded_config(tmp_path)
    assert (
        not_listening.NotListening().analyze(with_files(evidence_for(closed_port(), conf, [])))
        == []
    )


def test_answering_site_does_not_fire() -> None:
    evidence = EvidenceSet(url="u", http=HttpEvidence(url="u", status=200))
    assert not_listening.NotListening().analyze(with_files(evidence)) == []


def test_reload_names_the_instance_started_with_its_own_config() -> None:
    from premortem.analyzers._servers import reload_command
    from premortem.host import ServiceManager

    systemd = EvidenceSet(url="u", server=ServerEvidence(port=80, services=ServiceManager(True)))
    assert reload_command(systemd, "nginx", "/srv/lab/nginx/nginx.conf") == (
        "/usr/sbin/nginx -c /srv/lab/nginx/nginx.conf -s reload"
    )
    assert reload_command(systemd, "nginx", "/etc/nginx/nginx.conf") == "systemctl reload nginx"
    assert reload_command(systemd, "apache", "/srv/lab/apache/httpd.conf") == (
        "/usr/sbin/apache2 -f /srv/lab/apache/httpd.conf -k graceful"
    )
    # No systemd, no init script: the program itself.
    bare = EvidenceSet(url="u", server=ServerEvidence(port=80, services=ServiceManager()))
    assert reload_command(bare, "apache", "") == "apachectl -k graceful"
    assert reload_command(bare, "nginx", "") == "/usr/sbin/nginx -s reload"


def test_another_nginx_instance_elsewhere_does_not_fire() -> None:
    # The site's nginx is stopped; a second nginx (its own -c config) runs elsewhere.
    port = closed_port()
    http = fetch(f"http://127.0.0.1:{port}/", timeout=2)
    other = RunningServer(4444, "nginx", "/tmp/other-lab/nginx/nginx.conf", [RECORDED_OTHER_PORT])
    server = ServerEvidence(
        port=port,
        nginx=NginxSite(config_file="/srv/lab/nginx/nginx.conf", listen=[f"127.0.0.1:{port}"]),
        installed={"nginx": True},
        running={"nginx": True},
        masters=[other],
    )
    assert (
        not_listening.NotListening().analyze(
            with_files(EvidenceSet(url=http.url, http=http, server=server))
        )
        == []
    )
