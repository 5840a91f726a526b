"""Watch, report, diagnose and deploy verify read the site's access log in its own format,
and of Debian's shared other_vhosts_access.log only the site's lines."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from premortem.accesslog import DEBIAN_APACHE_FORMATS, AccessLogFormat, SiteFilter, SiteLog
from premortem.collectors.logs import collect_logs
from premortem.errors import InputError
from premortem.ops.deploy.verify import count_statuses
from premortem.readers.apache import read_apache_config, site_summary
from premortem.report.impact import measure_impact
from premortem.siteconfig import SiteConfig, write_site_config
from premortem.sitelog import site_log_of
from premortem.store import open_store
from premortem.watch.detector import Thresholds
from premortem.watch.watcher import Watcher, WatchSettings

FIXTURES = Path(__file__).parent / "fixtures"
SEED = (FIXTURES / "report" / "access-seed.log").read_text().splitlines(keepends=True)
APACHE_TREE = FIXTURES / "accesslog" / "apache" / "apache2.conf"
START = datetime(2026, 11, 26, 0, 56, 23, tzinfo=UTC)
END = datetime(2026, 11, 26, 0, 56, 46, tzinfo=UTC)
SEED_FAILED = 72  # the 500s of the recorded outage in that window (test_report_impact.py)


def other_vhosts_log(path: Path) -> Path:
    """The seed outage as Debian's other_vhosts_access.log writes it (vhost_combined), with a
    second site on the same port failing the whole time and the blog's https twin. `%p` is
    the canonical port: 80 for `ServerName blog.example` although it listens on 8080."""
    lines = []
    for line in SEED:
        lines.append("blog.example:80 " + line)
        lines.append("wiki.example:80 " + line.replace('" 200 ', '" 503 '))
        lines.append("blog.example:443 " + line.replace('" 200 ', '" 500 '))
    path.write_text("".join(lines))
    return path


def blog_config(tmp_path: Path, **values: str) -> SiteConfig:
    return SiteConfig(
        url="http://127.0.0.1:8080/",
        site_root=str(tmp_path / "site"),
        docroot=str(tmp_path / "site"),
        server_config=str(APACHE_TREE),
        access_log=str(tmp_path / "other_vhosts_access.log"),
        **values,
    )


def test_the_sites_names_come_from_its_vhost(tmp_path: Path) -> None:
    site_log = site_log_of(blog_config(tmp_path, access_log_format="vhost_combined"))
    assert site_log.site.names == {
        "127.0.0.1",
        "blog.example",
        "www.blog.example",
        "*.blog.example",
    }
    # Apache logs %p as the ServerName's port, else the scheme's: not the 8080 it listens on.
    assert site_log.site.port == 80
    assert "only the lines of" in site_log.describe()
    # A log that does not say where a request was served needs no names.
    assert not site_log_of(blog_config(tmp_path)).site.selects


def test_the_port_of_the_sites_lines_is_the_one_the_server_logs(tmp_path: Path) -> None:
    def port_of(spec: str, url: str = "http://127.0.0.1:8080/") -> int | None:
        config = blog_config(tmp_path, access_log_format=spec)
        return site_log_of(config, url=url).site.port

    assert port_of("vhost_combined", "https://127.0.0.1:8443/") == 443
    assert port_of("apache:%v:%{canonical}p %t %>s") == 80
    assert port_of("apache:%v:%{local}p %t %>s") == 8080
    assert port_of("nginx:$host:$server_port [$time_local] $status") == 8080
    # A ServerName with a port is what %p says.
    conf = tmp_path / "apache2.conf"
    conf.write_text(
        "<VirtualHost *:8080>\nServerName blog.example:8000\nDocumentRoot /srv\n</VirtualHost>\n"
    )
    named = blog_config(tmp_path, access_log_format="vhost_combined")
    named.server_config = str(conf)
    assert site_log_of(named).site.port == 8000


def test_a_malformed_format_in_the_config_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="access_log_format 'apache2:%h'"):
        site_log_of(blog_config(tmp_path, access_log_format="apache2:%h"))


def test_report_counts_the_sites_failures_of_a_shared_log(tmp_path: Path) -> None:
    log = other_vhosts_log(tmp_path / "other_vhosts_access.log")
    alone = tmp_path / "access.log"
    alone.write_text("".join(SEED))
    expected = measure_impact(alone, START, END)
    assert expected.requests_failed == SEED_FAILED
    site_log = site_log_of(blog_config(tmp_path, access_log_format="vhost_combined"))
    impact = measure_impact(log, START, END, site_log=site_log)
    assert (impact.requests_total, impact.requests_failed) == (
        expected.requests_total,
        expected.requests_failed,
    )
    assert measure_impact(log, START, END).requests_total == 0  # read as combined: blind


def test_watch_opens_an_incident_for_the_site_not_for_its_neighbours(tmp_path: Path) -> None:
    log = tmp_path / "other_vhosts_access.log"
    log.write_text("")
    settings = WatchSettings(
        urls=[],
        state_dir=tmp_path / "state",
        access_log=log,
        site_log=site_log_of(blog_config(tmp_path, access_log_format="vhost_combined")),
        thresholds=Thresholds(window=timedelta(seconds=30), min_requests=5),
    )
    watcher = Watcher(settings)
    watcher.follow_log()
    now = datetime.now(UTC)
    ok = [line for line in SEED if '" 200 ' in line][:30]
    failed = [line for line in SEED if '" 500 ' in line][:10]
    with open(log, "a") as handle:
        handle.writelines("blog.example:80 " + line for line in ok)
        handle.writelines("wiki.example:80 " + line for line in failed)
    watcher.tick(now)
    assert watcher.incident is None
    assert watcher.detector.counts(now).total == 30
    with open(log, "a") as handle:
        handle.writelines("blog.example:80 " + line for line in failed)
    watcher.tick(now + timedelta(seconds=1))
    assert watcher.incident is not None
    watcher.close()


def test_diagnose_reads_the_format_the_server_config_gives(tmp_path: Path) -> None:
    log = other_vhosts_log(tmp_path / "other_vhosts_access.log")
    server = site_summary(read_apache_config(str(APACHE_TREE)), 8080, "127.0.0.1")
    server.access_log = str(log)  # the fixture tree names /var/log/apache2
    site_log = site_log_of(None, url="http://127.0.0.1:8080/", server=server)
    assert site_log.log_format == AccessLogFormat.apache(DEBIAN_APACHE_FORMATS["vhost_combined"])
    seen_at = datetime(2026, 11, 26, 0, 57, tzinfo=UTC).timestamp()
    evidence = collect_logs(
        [], str(log), request_start=seen_at, request_end=seen_at, site_log=site_log
    )
    counts = evidence.recent_status_counts
    assert counts[500] == sum('" 500 ' in line for line in SEED) and 503 not in counts


def test_deploy_verify_counts_a_json_log(tmp_path: Path) -> None:
    fmt = AccessLogFormat.nginx(
        '{"t":"$time_iso8601","r":"$request","s":$status,"ua":"$http_user_agent","host":"$host"}',
        escape="json",
    )
    log = tmp_path / "access.json.log"
    records = [
        ("blog.example", 200, "Mozilla/5.0"),
        ("blog.example", 502, "Mozilla/5.0"),
        ("blog.example", 500, "premortem-probe/1"),
        ("shop.example", 500, "Mozilla/5.0"),
    ]
    log.write_text(
        "".join(
            json.dumps(
                {
                    "t": "2026-11-26T10:00:00+00:00",
                    "r": "GET / HTTP/1.1",
                    "s": status,
                    "ua": agent,
                    "host": host,
                }
            )
            + "\n"
            for host, status, agent in records
        )
        + '{"t":"2026-11-26T10:00:01'  # still being written
    )
    site_log = SiteLog(fmt, SiteFilter({"blog.example"}))
    requests, errors, offset = count_statuses(str(log), 0, site_log)
    assert (requests, errors) == (2, 1) and offset < log.stat().st_size
    assert count_statuses(str(log), 0)[:2] == (0, 0)  # as combined: nothing to count


def test_the_report_command_takes_the_format_from_the_command_line(tmp_path: Path) -> None:
    log = other_vhosts_log(tmp_path / "other_vhosts_access.log")
    config = blog_config(tmp_path, state_dir=str(tmp_path / "state"))
    write_site_config(config, tmp_path / "premortem.toml")
    with open_store(tmp_path / "state") as store:
        incident = store.open_incident(
            title="5xx", trigger="error-rate", detected_at=END, first_error_at=START
        )
        store.resolve_incident(incident.id, resolved_at=END, recovered_at=END, message="ok")
    command = [sys.executable, "-m", "premortem", "report", str(incident.id), "--format", "json"]
    command += ["--config", str(tmp_path / "premortem.toml"), "--access-log", str(log)]
    written = subprocess.run(
        [*command, "--access-log-format", "vhost_combined"], capture_output=True, text=True
    )
    assert written.returncode == 0, written.stderr
    assert json.loads(written.stdout)["impact"]["requests_failed"] == SEED_FAILED
    wrong = subprocess.run([*command, "--access-log-format", "bogus"], capture_output=True)
    assert wrong.returncode == 2 and b"access_log_format 'bogus'" in wrong.stderr
