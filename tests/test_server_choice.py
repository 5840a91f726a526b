"""Which server a refused URL is blamed on, with no site config: the server collector on a
RecordedHost (nginx and Apache installed, no systemd, SysV init scripts) and the
server-down / not-listening analyzers on what it gathered. Configs live in tmp_path; the
packaged default paths point there, so the machine's own servers never matter."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from premortem.analyzers import _servers, not_listening, server_down
from premortem.collectors import EvidenceSet
from premortem.collectors import server as server_collector
from premortem.collectors.http import HttpEvidence, fetch
from premortem.collectors.logs import collect_logs
from premortem.collectors.server import collect_server
from premortem.host import (
    CommandResult,
    ListeningSocket,
    ProcessInfo,
    RecordedFile,
    RecordedHost,
    ServiceManager,
)
from premortem.model import Finding

NO_SYSTEMD = ServiceManager(
    service_tool="/usr/sbin/service",
    init_scripts=("apache2", "nginx"),
    programs=("/usr/sbin/apache2", "/usr/sbin/apache2ctl", "/usr/sbin/nginx"),
)
NGINX_TEST_OK = CommandResult((), 0, "nginx: configuration file test is successful")
APACHE_TEST_OK = CommandResult((), 0, "Syntax OK")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Machine:
    """A Debian-like host in tmp_path: Apache listening on the URL's port in its config,
    nginx with whatever site the test writes."""

    root: Path
    port: int

    @property
    def nginx_conf(self) -> Path:
        return self.root / "nginx" / "nginx.conf"

    @property
    def apache_conf(self) -> Path:
        return self.root / "apache2" / "apache2.conf"

    def nginx_site(self, listen: int | None) -> None:
        server = f"    server {{\n        listen {listen};\n        root /var/www/html;\n    }}\n"
        self.nginx_conf.write_text(
            f"error_log {self.root}/nginx-error.log;\nevents {{}}\nhttp {{\n"
            + (server if listen else "")
            + "}\n"
        )

    def analyze(self, host: RecordedHost, logs_text: str = "") -> tuple[EvidenceSet, list[Finding]]:
        http = fetch(f"http://127.0.0.1:{self.port}/", timeout=2)
        assert http.error_kind == "refused"
        evidence = EvidenceSet(url=http.url, http=http)
        # The configs and logs written in tmp_path, as the recorded machine's files.
        host.files.update(
            {
                str(p): RecordedFile(content=p.read_bytes(), mtime=p.stat().st_mtime)
                for p in self.root.rglob("*")
                if p.suffix in (".conf", ".log")
            }
        )
        evidence.server = collect_server(self.port, host=host)
        if logs_text:
            log = self.root / "error.log"
            log.write_text(logs_text)
            evidence.logs = collect_logs(
                [str(log)], None, request_start=time.time(), request_end=time.time()
            )
        findings = [
            *server_down.ServerDown().analyze(evidence),
            *not_listening.NotListening().analyze(evidence),
        ]
        return evidence, findings


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Machine:
    port = closed_port()
    made = Machine(tmp_path, port)
    made.apache_conf.parent.mkdir()
    made.apache_conf.write_text(f"Listen {port}\nErrorLog {tmp_path}/apache-error.log\n")
    made.nginx_conf.parent.mkdir()
    made.nginx_site(None)
    for module in (server_collector, _servers):
        monkeypatch.setattr(module, "DEFAULT_APACHE_CONFIG", str(made.apache_conf))
        monkeypatch.setattr(module, "DEFAULT_NGINX_CONFIG", str(made.nginx_conf))
    return made


def host(
    *procs: ProcessInfo,
    sockets: tuple[ListeningSocket, ...] = (),
    nginx_test: CommandResult = NGINX_TEST_OK,
) -> RecordedHost:
    return RecordedHost(
        procs=list(procs),
        sockets=list(sockets),
        services=NO_SYSTEMD,
        checks={"nginx": nginx_test, "apache2": APACHE_TEST_OK},
    )


NGINX_MASTER = ProcessInfo(10, 1, "nginx", ("nginx: master process /usr/sbin/nginx",), "root")
NGINX_WORKER = ProcessInfo(11, 10, "nginx", ("nginx: worker process",), "www-data")


def test_running_nginx_without_an_enabled_site_is_blamed_not_apache(machine: Machine) -> None:
    evidence, [finding] = machine.analyze(host(NGINX_MASTER, NGINX_WORKER))
    assert evidence.server is not None and evidence.server.candidates[0].kind == "nginx"
    assert finding.rule == "server-down"
    assert finding.message.startswith(f"nginx runs but nothing listens on port {machine.port}")
    # Apache could own the port too (its config says Listen): said, with why nginx is meant.
    assert f"apache ({machine.apache_conf}:1: Listen {machine.port}" in finding.message
    assert "nginx is likelier: its master runs (pid 10)" in finding.message
    assert finding.fix is not None and finding.fix.commands == ("service nginx reload",)
    assert "systemctl" not in str(finding.to_dict())


def test_nginx_down_after_a_config_error_names_the_line_instead_of_start(machine: Machine) -> None:
    machine.nginx_site(machine.port)
    broken = CommandResult(
        (),
        1,
        'nginx: [emerg] unknown directive "lsiten" in /etc/nginx/sites-enabled/default:22\n'
        "nginx: configuration file /etc/nginx/nginx.conf test failed\n",
    )
    _evidence, [finding] = machine.analyze(host(nginx_test=broken))
    assert finding.rule == "server-down"
    assert (finding.file, finding.line) == ("/etc/nginx/sites-enabled/default", 22)
    assert finding.message.startswith("nginx is not running on port")
    assert (
        'config test fails at /etc/nginx/sites-enabled/default:22: unknown directive "lsiten"'
        in (finding.message)
    )
    assert finding.fix is not None
    [command] = finding.fix.commands
    # Started only once the config test passes, never "just start it".
    assert command == f"/usr/sbin/nginx -t -c {machine.nginx_conf} && service nginx start"
    assert "fix /etc/nginx/sites-enabled/default:22" in finding.fix.description


def test_nginx_on_another_port_is_nginx_not_listening(machine: Machine) -> None:
    other = machine.port + 1 if machine.port < 65535 else machine.port - 1
    machine.nginx_site(other)
    sockets = (ListeningSocket(11, "0.0.0.0", other),)
    _evidence, [finding] = machine.analyze(host(NGINX_MASTER, NGINX_WORKER, sockets=sockets))
    assert finding.rule == "not-listening"
    assert finding.message.startswith(f"nginx runs (pid 10) but listens on port {other}")
    assert "apache (" in finding.message and "could own port" in finding.message
    assert finding.fix is not None and finding.fix.commands == ("service nginx reload",)


def test_stopped_nginx_that_ran_last_is_blamed_and_apache_named_as_the_alternative(
    machine: Machine,
) -> None:
    machine.nginx_site(machine.port)
    (machine.root / "nginx-error.log").write_text("exiting\n")
    apache_log = machine.root / "apache-error.log"
    apache_log.write_text("old\n")
    os.utime(apache_log, (time.time() - 86400, time.time() - 86400))
    _evidence, [finding] = machine.analyze(host())
    assert finding.message.startswith(f"nginx is not running: {machine.nginx_conf}:5: listen")
    assert "nginx is likelier: it wrote its error log last" in finding.message
    assert finding.fix is not None and finding.fix.commands == ("service nginx start",)


def test_two_servers_equally_likely_are_both_named(machine: Machine) -> None:
    machine.nginx_site(machine.port)
    _evidence, [finding] = machine.analyze(host())
    assert "apache and nginx could both own port" in finding.message
    assert "nothing tells which is meant" in finding.message


def test_a_stale_bind_error_is_not_quoted_as_the_cause(machine: Machine) -> None:
    def nginx_line(seconds_ago: float, text: str) -> str:
        stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(time.time() - seconds_ago))
        return f"{stamp} [emerg] 123#123: {text}\n"

    stale = nginx_line(180, "bind() to 0.0.0.0:80 failed (98: Address already in use)")
    _evidence, [finding] = machine.analyze(host(NGINX_MASTER, NGINX_WORKER), logs_text=stale)
    assert not any("Address already in use" in quoted for quoted in finding.quoted)
    fresh = nginx_line(5, "signal 15 (SIGTERM) received, exiting; could not bind")
    _evidence, [finding] = machine.analyze(host(), logs_text=stale + fresh)
    assert any("could not bind" in quoted for quoted in finding.quoted)
    assert not any("Address already in use" in quoted for quoted in finding.quoted)


def test_an_answering_url_is_left_to_other_analyzers() -> None:
    evidence = EvidenceSet(url="u", http=HttpEvidence(url="u", status=200))
    assert server_down.ServerDown().analyze(evidence) == []


def test_apache_config_test_failure_names_file_line_and_reason() -> None:
    from premortem.collectors.configtest import failure_place

    output = (
        "AH00526: Syntax error on line 13 of /etc/apache2/sites-enabled/000-default.conf:\n"
        "Invalid command 'DocumentRooot', perhaps misspelled or defined by a module not "
        "included in the server configuration\n"
    )
    file, line, reason = failure_place(output)
    assert (file, line) == ("/etc/apache2/sites-enabled/000-default.conf", 13)
    assert reason.startswith("Invalid command 'DocumentRooot'")
