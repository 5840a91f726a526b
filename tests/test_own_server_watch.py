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

import contextlib
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from debian_site import DebianApacheSite, NamedVhost
from own_server import (
    VhostTraffic,
    copy_lab_wordpress,
    diagnose_then_fix,
    premortem,
    seeded,
    site_base,
    state_dir_name,
)
from premortem.ops.lab import Lab
from premortem.siteconfig import read_site_config, state_root
from premortem.store import Incident, open_store

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


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def incidents(state: Path) -> list[Incident]:
    if not (state / "premortem.sqlite3").exists():
        return []
    with open_store(state) as store:
        return store.incidents()


def diagnosis_kinds(state: Path, incident_id: int) -> list[str]:
    with open_store(state) as store:
        events = store.events(incident_id=incident_id)
    return [e.kind for e in events if e.kind in ("diagnosis", "diagnosis.failed")]


@contextlib.contextmanager
def watching(url: str, cwd: Path) -> Iterator[Path]:
    """`premortem watch URL` (no premortem.toml) in a child process run from `cwd`; yields
    the file its stderr goes to. Stopped with SIGTERM, which must end it cleanly (exit 0)."""
    log = cwd / "watch.log"
    command = [
        sys.executable, "-m", "premortem", "watch", url, "--interval", "2s", "--healthy", "5s",
    ]  # fmt: skip
    with log.open("ab") as stderr:
        process = subprocess.Popen(
            command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
        )
    try:
        wait_for(lambda: "watching" in log.read_text(errors="replace"), 30, "watch did not start")
        yield log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert code == 0, log.read_text(errors="replace")


def outage_under_traffic(site: DebianApacheSite, cwd: Path) -> tuple[Incident, VhostTraffic]:
    """Both sites loaded, watch started, the seed injected until the incident is diagnosed,
    then repaired until the incident resolves; the incident and the traffic's account."""
    state = state_root() / state_dir_name(site.url)
    before = {incident.id for incident in incidents(state)}
    # 2 visitors per site, 2 requests/s each: 4 req/s on the blog, besides watch's probes.
    with (
        VhostTraffic(site.url, [site.name, OTHER], max_seconds=150, max_requests=300) as traffic,
        watching(site.url, cwd),
    ):
        time.sleep(3)  # healthy traffic first
        broken_at = time.time()
        with seeded(site.docroot):
            opened = lambda: [i for i in incidents(state) if i.id not in before]  # noqa: E731
            wait_for(opened, 30, "no incident opened")
            (incident,) = opened()
            assert incident.first_error_at is not None
            delay = (incident.detected_at - incident.first_error_at).total_seconds()
            print(
                f"\nseed -> incident {incident.id} ({incident.trigger}): detected {delay:.2f} s "
                f"after the first failed request, "
                f"{incident.detected_at.timestamp() - broken_at:.2f} s after the fault"
            )
            assert delay <= 10.0
            assert incident.detected_at.timestamp() - broken_at <= 10.0
            # Repaired once diagnosed: the report's root cause is the diagnosis of the fault.
            wait_for(lambda: diagnosis_kinds(state, incident.id), 90, "no diagnosis")
        repaired_at = time.time()
        resolved = lambda: incidents(state)[-1].status == "resolved"  # noqa: E731
        wait_for(resolved, 60, "not resolved")
        print(f"repair -> resolved in {time.time() - repaired_at:.1f} s (healthy period 5 s)")
    return incidents(state)[-1], traffic


def test_watch_opens_an_incident_and_report_counts_the_sites_failures_only(
    shared_log_site: DebianApacheSite, tmp_path: Path
) -> None:
    site = shared_log_site
    incident, traffic = outage_under_traffic(site, tmp_path)
    assert traffic.statuses[OTHER] and set(traffic.statuses[OTHER]) == {200}
    assert 500 in traffic.statuses[site.name]

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
