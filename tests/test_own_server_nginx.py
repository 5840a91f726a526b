"""premortem on a site it did not build, on nginx + php-fpm: Debian's /etc/nginx and
/etc/php/8.2/fpm layouts (a private instance, tests/debian_nginx_site.py) serving a copy of
the lab's WordPress (its database is the lab's MariaDB). Every command runs from an empty
directory with no premortem.toml: what it knows of the site it finds from the URL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from debian_nginx_site import DebianNginxSite
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


@pytest.fixture(scope="module")
def own_nginx_site(lab: Lab) -> Iterator[DebianNginxSite]:
    with site_base("premortem-own-nginx-") as base:
        docroot = base / "www" / "blog"
        copy_lab_wordpress(lab, docroot)
        site = DebianNginxSite(base, docroot)
        site.build()
        try:
            site.start()
            yield site
        finally:
            site.stop()


def test_init_writes_the_config_of_the_server_block_that_answers(
    own_nginx_site: DebianNginxSite, tmp_path: Path
) -> None:
    site = own_nginx_site
    proc = premortem("init", site.url, "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    config = read_site_config(tmp_path / "premortem.toml")
    assert config.server == "nginx"
    assert config.server_config == str(site.confdir / "nginx.conf")
    assert config.docroot == config.site_root == str(site.docroot)
    # The server block has no access_log: the http block's, in nginx's own combined.
    assert config.access_log == str(site.access_log)
    assert config.access_log_format in ("", "combined")
    assert config.error_log == str(site.error_log)
    assert config.php_fpm_config == str(site.fpm_config)
    assert config.web_user == "www-data"
    sources = {fact["key"]: fact["source"] for fact in found["facts"]}
    assert sources["docroot"] == f"{site.confdir / 'sites-enabled' / site.name}:5"


def test_diagnose_and_fix_work_from_the_url_alone(
    own_nginx_site: DebianNginxSite, tmp_path: Path
) -> None:
    diagnose_then_fix(own_nginx_site.url, own_nginx_site.docroot, cwd=tmp_path)


# nginx's combined: $remote_addr - $remote_user [$time_local] "$request" $status ...
COMBINED = re.compile(r'^\S+ \S+ \S+ \[([^\]]+)\] "[^"]*" (\d{3}) ')


def test_watch_opens_an_incident_and_report_counts_the_failures_as_logged(
    own_nginx_site: DebianNginxSite, tmp_path: Path
) -> None:
    site = own_nginx_site
    incident, traffic = outage_under_traffic(site.url, site.docroot, [site.name], tmp_path)
    assert 500 in traffic.statuses[site.name]
    wait_log_settled(site.access_log)
    proc = premortem(
        "report", str(incident.id), "--url", site.url, "--format", "json", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    impact = report["impact"]
    start = datetime.fromisoformat(impact["window_start"])
    end = datetime.fromisoformat(impact["window_end"])
    logged = [
        (datetime.strptime(m.group(1), "%d/%b/%Y:%H:%M:%S %z"), int(m.group(2)))
        for m in map(COMBINED.match, site.access_log.read_text().splitlines())
        if m is not None
    ]
    in_window = [status for at, status in logged if start <= at <= end]
    failed = sum(status >= 500 for status in in_window)
    print(f"report: {impact['requests_failed']} of {impact['requests_total']}; log: {failed}")
    assert failed > 0
    assert (impact["requests_failed"], impact["requests_total"]) == (failed, len(in_window))
    assert "class-wp-locale.phpp" in json.dumps(report["root_cause"])
