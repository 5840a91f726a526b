"""`premortem init URL` when HAProxy answers URL: a fleet config (`[balancer]`) from its
config (the fleet lab's, recorded) and process (a recorded host); the real HAProxy is
asked in test_fleet_watch_lab.py."""

from __future__ import annotations

from pathlib import Path

from premortem.discovery import discover_site
from premortem.host import ListeningSocket, ProcessInfo, RecordedHost
from premortem.readers.haproxy import read_haproxy_config

CFG = Path(__file__).parent / "fixtures" / "watch" / "haproxy.cfg"


def _host(cfg: Path, stdout: str = "/srv/fleet/haproxy/haproxy.log") -> RecordedHost:
    command = ("/usr/sbin/haproxy", "-W", "-db", "-f", str(cfg))
    return RecordedHost(
        procs=[ProcessInfo(10, 1, "haproxy", command, "root"),
               ProcessInfo(11, 10, "haproxy", command, "root")],
        sockets=[ListeningSocket(11, "127.0.0.1", 8080)],
        stdout_files={11: stdout},
    )  # fmt: skip


def test_the_config_reader() -> None:
    config = read_haproxy_config(str(CFG))
    frontend = config.frontend_on(8080)
    assert frontend is not None and frontend.default_backend == "web" and frontend.httplog
    backend = config.backend("web")
    assert backend is not None and [n for n, _a in backend.servers] == [
        "web-01",
        "web-02",
        "web-03",
    ]
    assert [p for p, _w in config.stats_sockets] == ["/srv/fleet/haproxy/admin.sock"]
    assert [t for t, _w in config.log_targets] == ["stdout"]
    assert config.frontend_on(9999) is None


def test_init_at_the_balancer_writes_a_fleet_config() -> None:
    found = discover_site("http://127.0.0.1:8080/", _host(CFG))
    assert found.server == "haproxy" and found.config is not None
    config = found.config
    assert config.access_log == "/srv/fleet/haproxy/haproxy.log"
    assert config.access_log_format == "haproxy"
    assert config.balancer is not None
    assert (config.balancer.admin_socket, config.balancer.backend) == (
        "/srv/fleet/haproxy/admin.sock",
        "web",
    )
    servers = next(f for f in found.facts if f.key == "balancer.servers")
    assert servers.value == "web-01, web-02, web-03" and servers.source.startswith(str(CFG))


def test_what_is_missing_is_said(tmp_path: Path) -> None:
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(CFG.read_text().replace("    option httplog\n", "").replace("stats socket", "#"))
    found = discover_site("http://127.0.0.1:8080/", _host(cfg, stdout=""))
    assert any("stats socket" in m for m in found.missing)
    assert any("where HAProxy's log is written" in m for m in found.missing)
    assert any("option httplog" in w for w in found.warnings)
    unreadable = discover_site("http://127.0.0.1:8080/", _host(tmp_path / "none.cfg"))
    assert unreadable.config is None and "cannot read HAProxy's config" in unreadable.missing[0]


def test_a_frontend_without_a_backend_is_no_site(tmp_path: Path) -> None:
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(CFG.read_text().replace("default_backend web", ""))
    found = discover_site("http://127.0.0.1:8080/", _host(cfg))
    assert found.config is None and "no frontend on port 8080" in found.missing[0]
