"""watch at the balancer (issue #14) on the real fleet lab: 3 hosts in network namespaces
behind HAProxy, 8 loopback clients through the balancer. The seed on web-02 opens an
incident naming web-02 within 10 s; repair resolves it; the report's failed-request count
equals the 5xx lines of HAProxy's log for the report's time range (counted here with a
regex of this test's own, not premortem's parser). With `--auto-rollback`, a seed in a
release just deployed on web-02 is rolled back on web-02 alone (fleet rollback, Ansible over
SSH) and the incident resolves without a repair."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from fleet_helpers import VENV_BIN, clients, fleet_lab
from premortem.ops.lab.fleet import Fleet
from premortem.ops.lab.procs import free_port
from premortem.siteconfig import read_site_config
from premortem.store import open_store

pytestmark = pytest.mark.lab

# HAProxy's httplog: accept date (local time; the lab host's zone), backend/server, status.
LINE = re.compile(r"\[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d)\.\d{3}\] \S+ [^/\s]+/(\S+) \S+ (-1|\d{3}) ")


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with fleet_lab(3) as the_fleet:
        yield the_fleet


def _premortem(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "premortem"), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def test_status_gives_haproxys_log_and_the_fleet_config(fleet: Fleet, tmp_path: Path) -> None:
    status = json.loads(
        _premortem("lab", "status", "--dir", str(fleet.dir), "--format", "json").stdout
    )
    assert status["access_log"] == str(fleet.dir / "haproxy/haproxy.log")
    config = read_site_config(Path(status["config"]))
    assert config.url == fleet.url and config.access_log == status["access_log"]
    assert config.access_log_format == "haproxy"
    assert config.balancer is not None
    assert config.balancer.admin_socket == status["balancer_socket"]
    assert sorted(config.balancer.event_stores) == ["web-01", "web-02", "web-03"]
    assert fleet.get("/?status-test").status_code == 200
    time.sleep(0.5)
    logged = Path(status["access_log"]).read_text()
    assert re.search(r"www web/web-0\d .* 200 .*\"GET /\?status-test HTTP/1.1\"", logged)
    # `premortem init` at the balancer finds the same: HAProxy's process and config.
    init = _premortem("init", fleet.url, "-o", str(tmp_path / "init.toml"), "--format", "json")
    assert init.returncode == 0, init.stdout + init.stderr
    found = read_site_config(tmp_path / "init.toml")
    assert found.balancer is not None
    assert found.balancer.admin_socket == status["balancer_socket"]
    assert found.access_log == status["access_log"] and found.access_log_format == "haproxy"


def _wait(condition: Any, timeout: float, step: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(step)
    return None


def _incidents(state_dir: Path) -> list[Any]:
    if not (state_dir / "premortem.sqlite3").exists():
        return []
    with open_store(state_dir, create=False) as store:
        return store.incidents()


def _diagnosis_events(state_dir: Path, incident_id: int) -> list[str]:
    with open_store(state_dir, create=False) as store:
        events = store.events(incident_id=incident_id)
    return [e.message for e in events if e.kind in ("diagnosis", "diagnosis.failed")]


def _metric(port: int, name: str, backend: str) -> float | None:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", trust_env=False, timeout=5).text
    for line in text.splitlines():
        if line.startswith(name + "{") and f'backend="{backend}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return None


def _log_count(log: Path, start: datetime, end: datetime) -> tuple[int, int, Counter[str]]:
    """Requests, 5xx and 5xx per server of HAProxy's log in [start, end] (whole seconds)."""
    requests = failed = 0
    per_server: Counter[str] = Counter()
    for line in log.read_text(errors="replace").splitlines():
        match = LINE.search(line)
        if match is None:
            continue
        when = datetime.strptime(match.group(1), "%d/%b/%Y:%H:%M:%S").astimezone()
        if not start <= when <= end:
            continue
        requests += 1
        if match.group(3).startswith("5"):
            failed += 1
            per_server[match.group(2)] += 1
    return requests, failed, per_server


def test_seed_on_web02_is_an_incident_naming_it_and_the_report_counts_haproxys_log(
    fleet: Fleet, tmp_path: Path
) -> None:
    config = fleet.dir / "premortem.toml"
    state_dir = Path(read_site_config(config).path_of_state)
    metrics_port = free_port()
    watch = subprocess.Popen(
        [str(VENV_BIN / "premortem"), "watch", "--config", str(config), "--healthy", "10s",
         "--metrics-port", str(metrics_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        with clients(fleet.url, 8) as traffic:
            # The window fills with healthy traffic first (25 answers per backend: 20 needed).
            assert _wait(lambda: traffic.sent >= 75, 60), traffic.statuses
            assert _incidents(state_dir) == []
            fleet.break_scenario("seed", "web-02")
            broken_at = time.monotonic()
            opened = _wait(lambda: _incidents(state_dir), 30)
            after_break = time.monotonic() - broken_at
            assert opened, "no incident opened"
            incident = opened[0]
            detect = (incident.detected_at - incident.first_error_at).total_seconds()
            print(
                f"seed on web-02: incident {incident.id} opened {detect:.1f} s after the first "
                f"5xx in HAProxy's log ({after_break:.1f} s after `lab break` returned): "
                f"{incident.title}"
            )
            assert detect <= 10 and after_break <= 10
            assert "web-02" in incident.title
            assert incident.data["failing_backends"] == ["web-02"]
            assert incident.trigger == "backend"
            assert _metric(metrics_port, "premortem_backend_failing", "web-02") == 1.0
            assert _metric(metrics_port, "premortem_backend_failing", "web-01") == 0.0
            # The auto-diagnosis runs `fleet diagnose` on the failing backend, over SSH.
            diagnosed = _wait(lambda: _diagnosis_events(state_dir, incident.id), 120)
            assert diagnosed, "no diagnosis event"
            print(f"auto-diagnosis: {diagnosed[0]}")
            assert diagnosed[0].startswith("diagnosis: web-02: ")
            assert "wp-settings.php line 156" in diagnosed[0]
            fleet.repair()
            repaired_at = time.monotonic()
            resolved = _wait(
                lambda: [i for i in _incidents(state_dir) if i.status == "resolved"], 60
            )
            print(f"repair: resolved {time.monotonic() - repaired_at:.1f} s after repair")
            assert resolved, "the incident was not resolved after repair"
        print(f"traffic: {traffic.sent} requests, {dict(traffic.statuses)}")
    finally:
        watch.send_signal(signal.SIGTERM)
        output, _ = watch.communicate(timeout=30)
        print(output[-3000:])
    assert watch.returncode == 0

    report = _premortem("report", str(incident.id), "--config", str(config), "--format", "json")
    assert report.returncode == 0, report.stdout + report.stderr
    impact = json.loads(report.stdout)["impact"]
    start = datetime.fromisoformat(impact["window_start"])
    end = datetime.fromisoformat(impact["window_end"])
    requests, failed, per_server = _log_count(fleet.dir / "haproxy/haproxy.log", start, end)
    print(
        f"report: {impact['requests_failed']} of {impact['requests_total']} failed; "
        f"HAProxy's log in that range: {failed} of {requests}; per backend {impact['per_backend']}"
    )
    assert failed > 0
    assert (impact["requests_failed"], impact["requests_total"]) == (failed, requests)
    by_name = {b["name"]: b for b in impact["per_backend"]}
    assert by_name["web-02"]["failed"] == per_server["web-02"] == failed
    assert by_name["web-01"]["failed"] == by_name["web-03"]["failed"] == 0

    markdown = _premortem("report", str(incident.id), "--config", str(config), "-o",
                          str(tmp_path / "pm.md"))  # fmt: skip
    assert markdown.returncode == 0, markdown.stderr
    assert "| `web-02` |" in (tmp_path / "pm.md").read_text()
    assert (tmp_path / "pm-backends.png").read_bytes().startswith(b"\x89PNG")


def _watch(config: Path, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(VENV_BIN / "premortem"), "watch", "--config", str(config), "--healthy", "10s",
         "--no-auto-diagnose", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip


def _live(host: Any) -> str:
    """The release a host serves (where its `current` link points)."""
    return Path(os.path.realpath(host.lab.paths.current)).name


def test_auto_rollback_rolls_back_the_host_of_the_last_deploy(fleet: Fleet, tmp_path: Path) -> None:
    config = fleet.dir / "premortem.toml"
    state_dir = Path(read_site_config(config).path_of_state)
    host = fleet.host("web-02")
    before = _live(host)
    others = {h.name: _live(h) for h in fleet.hosts() if h.name != "web-02"}
    source = tmp_path / "release"
    shutil.copytree(host.lab.paths.current, source, symlinks=True)
    for shared in ("wp-config.php", "wp-content/uploads"):
        target = source / shared
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.exists():
            shutil.rmtree(target)
    fleet.in_host(host, ["deploy", str(source), "--config", str(host.lab.config_path),
                         "--no-check", "--verify-seconds", "1"])  # fmt: skip
    deployed = _live(host)
    assert deployed != before
    known = len(_incidents(state_dir))
    watch = _watch(config, "--auto-rollback")
    try:
        with clients(fleet.url, 8) as traffic:
            assert _wait(lambda: traffic.sent >= 75, 60), traffic.statuses
            fleet.break_scenario("seed", "web-02")
            broken_at = time.monotonic()
            # No repair: the rollback of web-02's deploy is what ends it.
            resolved = _wait(
                lambda: [i for i in _incidents(state_dir)[known:] if i.status == "resolved"], 90
            )
            print(f"auto-rollback: resolved {time.monotonic() - broken_at:.1f} s after the seed")
            assert resolved, "not resolved by the rollback"
    finally:
        watch.send_signal(signal.SIGTERM)
        output, _ = watch.communicate(timeout=30)
        print(output[-3000:])
    with open_store(state_dir, create=False) as store:
        (rolled,) = store.events(kinds=["rollback.auto"], incident_id=resolved[0].id)
    assert rolled.data["hosts"] == ["web-02"]
    assert _live(host) == before
    assert {h.name: _live(h) for h in fleet.hosts() if h.name != "web-02"} == others
