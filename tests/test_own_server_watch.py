"""watch and report on a site premortem did not build, whose log it shares with another site.

Debian's apache2 layout (a private instance, tests/debian_site.py) with two name-based
virtual hosts on one port and no CustomLog in either: Debian's other-vhosts-access-log.conf
writes both sites' requests to other_vhosts_access.log (`vhost_combined`). The site is a
copy of the lab's WordPress (blog.test, the port's default vhost, so its URL is
http://127.0.0.1:PORT/); the other (shop.test) is a small PHP page. Every command runs from
an empty directory with no premortem.toml:

- `init URL` finds the shared log and its format;
- `watch URL` opens an incident within 10 s of the seed fault while loopback visitors load
  both sites, and resolves it after the repair, the other site answering 200 throughout;
- `report INCIDENT --url URL` counts the failed requests of the site exactly as the log has
  them, and none of the other site's;
- `diagnose URL` names the seed's file:line and `fix URL --yes` repairs it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from debian_site import DebianApacheSite, NamedVhost
from own_server import (
    copy_lab_wordpress,
    diagnose_then_fix,
    outage_under_traffic,
    premortem,
    site_base,
    wait_log_settled,
)
from premortem.ops.lab import Lab
from premortem.siteconfig import read_site_config

pytestmark = pytest.mark.lab

OTHER = "shop.test"
# vhost_combined: %v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"
VHOST_COMBINED = re.compile(r'^(\S+):(\d+) \S+ \S+ \S+ \[([^\]]+)\] "[^"]*" (\d{3}) ')


@dataclass(frozen=True)
class LogLine:
    vhost: str
    port: int
    at: datetime
    status: int


def log_lines(log: Path) -> list[LogLine]:
    """Every line of a vhost_combined log, read independently of premortem's parser."""
    lines = []
    for text in log.read_text(errors="replace").splitlines():
        match = VHOST_COMBINED.match(text)
        assert match, f"not a vhost_combined line: {text!r}"
        when = datetime.strptime(match.group(3), "%d/%b/%Y:%H:%M:%S %z")
        lines.append(LogLine(match.group(1), int(match.group(2)), when, int(match.group(4))))
    return lines


@pytest.fixture(scope="module")
def shared_log_site(lab: Lab) -> Iterator[DebianApacheSite]:
    with site_base("premortem-own-watch-") as base:
        docroot = base / "www" / "blog"
        copy_lab_wordpress(lab, docroot)
        other = base / "www" / "shop"
        other.mkdir()
        (other / "index.php").write_text("<?php echo 'shop open';\n")
        site = DebianApacheSite(
            base, docroot, own_access_log=False, other_vhosts=[NamedVhost(OTHER, other)]
        )
        site.build()
        site.start()
        try:
            yield site
        finally:
            site.stop()


def test_init_finds_the_shared_log_and_its_format(
    shared_log_site: DebianApacheSite, tmp_path: Path
) -> None:
    proc = premortem("init", shared_log_site.url, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    config = read_site_config(tmp_path / "premortem.toml")
    assert config.server == "apache"
    assert config.docroot == str(shared_log_site.docroot)
    assert config.access_log == str(shared_log_site.log_dir / "other_vhosts_access.log")
    assert config.access_log_format == "vhost_combined"


def test_watch_opens_an_incident_and_report_counts_the_sites_failures_only(
    shared_log_site: DebianApacheSite, tmp_path: Path
) -> None:
    site = shared_log_site
    incident, traffic = outage_under_traffic(site.url, site.docroot, [site.name, OTHER], tmp_path)
    assert traffic.statuses[OTHER] and set(traffic.statuses[OTHER]) == {200}
    assert 500 in traffic.statuses[site.name]

    wait_log_settled(site.log_dir / "other_vhosts_access.log")
    proc = premortem(
        "report", str(incident.id), "--url", site.url, "--format", "json", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    impact = report["impact"]
    shared_log = site.log_dir / "other_vhosts_access.log"
    assert impact["sources"] == [str(shared_log)]
    start = datetime.fromisoformat(impact["window_start"])
    end = datetime.fromisoformat(impact["window_end"])
    in_window = [line for line in log_lines(shared_log) if start <= line.at <= end]
    own = [line for line in in_window if line.vhost == site.name]
    other = [line for line in in_window if line.vhost == OTHER]
    # %p is the canonical port (no port in ServerName: http's 80), not the one listened on.
    assert {line.port for line in in_window} == {80}
    own_failed = sum(line.status >= 500 for line in own)
    print(
        f"report: {impact['requests_failed']} failed of {impact['requests_total']} requests; "
        f"the log's {site.name} lines in the window: {own_failed} failed of {len(own)} "
        f"({len(other)} {OTHER} lines left out)"
    )
    assert own_failed > 0 and other
    assert len(own) + len(other) == len(in_window)
    assert impact["requests_failed"] == own_failed
    assert impact["requests_total"] == len(own)
    assert "class-wp-locale.phpp" in json.dumps(report["root_cause"])


def test_diagnose_and_fix_work_from_the_url_alone(
    shared_log_site: DebianApacheSite, tmp_path: Path
) -> None:
    diagnose_then_fix(shared_log_site.url, shared_log_site.docroot, cwd=tmp_path)
