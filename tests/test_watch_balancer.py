"""watch at the load balancer without the lab: HAProxy's `show stat` (recorded from the
fleet lab's HAProxy 2.6), per-backend detection over httplog records and stats counters,
the balancer-mode response (the failing backends' diagnosis through the injectable
callable, the rollback of the hosts of the last fleet deploy), the fleet config's
[balancer] table, and the report of a fleet incident (per backend, the hosts' events).
The real HAProxy runs in test_fleet_watch_lab.py."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from premortem.accesslog import HAPROXY, AccessRecord, SiteLog
from premortem.errors import PremortemError
from premortem.report.build import build_report
from premortem.report.markdown import render_markdown
from premortem.siteconfig import read_site_config, site_config_from_dict, write_site_config
from premortem.store import open_store
from premortem.watch.balancer import ServerStat, StatsHistory, parse_show_stat
from premortem.watch.detector import IncidentDetector, Opened, Resolved, Thresholds
from premortem.watch.watcher import BalancerWatch, RollbackRequest, Watcher, WatchSettings

FIXTURES = Path(__file__).parent / "fixtures"
SHOW_STAT = (FIXTURES / "watch" / "haproxy-show-stat.csv").read_text()
T0 = datetime(2026, 11, 29, 6, 0, 0, tzinfo=UTC)
FAST = Thresholds(window=timedelta(seconds=10), healthy_for=timedelta(seconds=2))


@pytest.fixture(autouse=True)
def utc() -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()


def test_show_stat_gives_the_backends_servers() -> None:
    servers = {s.name: s for s in parse_show_stat(SHOW_STAT, "web")}
    assert sorted(servers) == ["web-01", "web-02", "web-03"]
    assert (servers["web-02"].answers, servers["web-02"].failures) == (240, 51)
    assert servers["web-01"].failures == 0 and servers["web-01"].up
    assert parse_show_stat(SHOW_STAT, "other") == []


def _stat(name: str, answers: int, failures: int, status: str = "UP") -> ServerStat:
    return ServerStat(name, status, "L7OK", answers, failures, 0)


def test_stats_history_counts_increases_and_state_changes() -> None:
    history = StatsHistory(timedelta(seconds=30))
    assert history.update(T0, [_stat("web-02", 100, 0)]) == []
    changed = history.update(T0 + timedelta(seconds=1), [_stat("web-02", 110, 10, "DOWN")])
    assert [(s.status, before) for s, before in changed] == [("DOWN", "UP")]
    # HAProxy restarted: its counters start again at 0; that read adds nothing.
    history.update(T0 + timedelta(seconds=2), [_stat("web-02", 3, 0, "DOWN")])
    history.update(T0 + timedelta(seconds=3), [_stat("web-02", 8, 5, "DOWN")])
    counts = history.per_server(T0 + timedelta(seconds=3), timedelta(seconds=30))
    assert (counts["web-02"].total, counts["web-02"].failed) == (15, 15)


def _record(server: str, status: int, at: datetime) -> AccessRecord:
    return AccessRecord(
        "127.0.0.1", at, "GET", "/", "HTTP/1.1", status, 10, None, None,
        backend="web", server=server,
    )  # fmt: skip


def _traffic(detector: IncidentDetector, start: datetime, seconds: int, bad: set[str]) -> datetime:
    """25 backends, one request each per second; those in `bad` answer 500."""
    now = start
    for second in range(seconds):
        now = start + timedelta(seconds=second)
        for n in range(1, 26):
            name = f"web-{n:02d}"
            detector.observe_request(_record(name, 500 if name in bad else 200, now), now)
    return now


def test_one_backend_of_25_failing_opens_an_incident_naming_it() -> None:
    """4% of the site's requests fail (below the 5% threshold): the backend's own share
    (100%) opens it, and its name is in the title and data."""
    detector = IncidentDetector(replace(FAST, min_requests=5))
    now = _traffic(detector, T0, 10, set())
    assert detector.evaluate(now) is None
    now = _traffic(detector, now + timedelta(seconds=1), 2, {"web-07"})
    opened = detector.evaluate(now)
    assert isinstance(opened, Opened) and opened.trigger == "backend"
    assert "web-07" in opened.title and opened.data["failing_backends"] == ["web-07"]
    assert opened.data["backends"]["web-07"]["log"]["5xx"] == 2
    assert detector.counts(now).rate < FAST.error_rate
    # Still failing: not resolved, however long.
    now = _traffic(detector, now + timedelta(seconds=1), 5, {"web-07"})
    assert detector.evaluate(now) is None
    now = _traffic(detector, now + timedelta(seconds=1), 4, set())
    assert isinstance(detector.evaluate(now), Resolved)


def test_a_quiet_fleet_opened_site_wide_still_names_the_backend() -> None:
    """3 backends with 8 requests each in the window (fewer than min_requests alone): the
    site-wide share opens the incident, and the backend holding the 5xx is named."""
    detector = IncidentDetector(FAST)
    for second in range(8):
        now = T0 + timedelta(seconds=second)
        for name in ("web-01", "web-02", "web-03"):
            status = 500 if name == "web-02" and second >= 5 else 200
            detector.observe_request(_record(name, status, now), now)
    opened = detector.evaluate(now)
    assert isinstance(opened, Opened) and opened.trigger == "error-rate"
    assert opened.data["failing_backends"] == ["web-02"]
    assert opened.title.endswith("5xx from backend web-02")


def test_the_runtime_api_alone_opens_it() -> None:
    detector = IncidentDetector(FAST)
    for second in range(12):
        failures = 0 if second < 8 else (second - 7) * 10
        servers = [
            _stat("web-01", 100 + second * 10, 0),
            _stat("web-02", 100 + second * 10, failures),
        ]
        detector.observe_backend_stats(T0 + timedelta(seconds=second), servers)
    opened = detector.evaluate(T0 + timedelta(seconds=11))
    assert isinstance(opened, Opened) and opened.data["failing_backends"] == ["web-02"]
    assert opened.first_error_at == T0 + timedelta(seconds=8)


HAPROXY_LINE = (
    "127.0.0.1:40000 [{stamp}.000] www web/{server} 0/0/0/3/3 {status} 512 - - ---- "
    '8/8/3/1/0 0/0 "GET / HTTP/1.1"\n'
)


def _lines(server_status: dict[str, int], count: int) -> str:
    stamp = datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S")
    return "".join(
        HAPROXY_LINE.format(stamp=stamp, server=server, status=status)
        for _ in range(count)
        for server, status in server_status.items()
    )


def _run(watcher: Watcher, log: Path, then: float = 1.0) -> None:
    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(watcher.run(stop))
        await asyncio.sleep(0.2)
        with open(log, "a") as out:
            out.write(_lines({"web-01": 200, "web-02": 200, "web-03": 200}, 10))
        await asyncio.sleep(0.2)
        with open(log, "a") as out:
            out.write(_lines({"web-01": 200, "web-02": 500, "web-03": 200}, 10))
        while watcher.incident is None:
            await asyncio.sleep(0.05)
        await asyncio.sleep(then)
        stop.set()
        await task

    asyncio.run(asyncio.wait_for(scenario(), 30))


def _balancer_watcher(tmp_path: Path, **hooks: Any) -> tuple[Watcher, Path]:
    log = tmp_path / "haproxy.log"
    log.write_text("")
    stores = {name: str(tmp_path / name) for name in ("web-01", "web-02", "web-03")}
    settings = WatchSettings(
        urls=[], state_dir=tmp_path / "state", access_log=log, site_log=SiteLog(HAPROXY),
        thresholds=FAST, tick=0.05, balancer=BalancerWatch("", "web", stores),
    )  # fmt: skip
    return Watcher(settings, **hooks), log


FLEET_DIAGNOSIS = {
    "hosts": [
        {"name": "web-02", "status": "failing", "findings": [
            {"rule": "missing-file", "message": "require of class-wp-locale.phpp fails"}]},
    ],
    "summary": "1 of 3 hosts failing",
}  # fmt: skip


def test_the_failing_backends_are_diagnosed_and_their_deploy_rolled_back(
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    for host, age in (("web-01", 120), ("web-02", 60)):
        with open_store(tmp_path / host) as store:
            store.add_event(
                "deploy.switch", "r2 live", data={"release": "r2"}, at=now - timedelta(seconds=age)
            )
    asked: list[list[str]] = []
    rollbacks: list[RollbackRequest] = []

    def diagnose_backends(hosts: Sequence[str]) -> dict[str, Any]:
        asked.append(list(hosts))
        return FLEET_DIAGNOSIS

    def rollback(request: RollbackRequest) -> str:
        rollbacks.append(request)
        return "fleet rollback of web-01:web-02"

    watcher, log = _balancer_watcher(
        tmp_path, diagnose_backends=diagnose_backends, rollback=rollback
    )
    _run(watcher, log)
    assert asked == [["web-02"]]
    assert [r.hosts for r in rollbacks] == [("web-01", "web-02")]
    with open_store(tmp_path / "state") as store:
        (incident,) = store.incidents()
        assert "web-02" in incident.title and incident.trigger == "backend"
        (diagnosis,) = store.events(kinds=["diagnosis"])
        assert diagnosis.message == "diagnosis: web-02: require of class-wp-locale.phpp fails"
        (auto,) = store.events(kinds=["rollback.auto"])
        assert auto.data["hosts"] == ["web-01", "web-02"]


def test_no_fleet_diagnosis_is_recorded_as_such(tmp_path: Path) -> None:
    watcher, log = _balancer_watcher(tmp_path, diagnose_backends=lambda hosts: None)
    _run(watcher, log, then=0.5)
    with open_store(tmp_path / "state") as store:
        (failed,) = store.events(kinds=["diagnosis.failed"])
        assert "no diagnosis" in failed.message


def _fleet_toml(tmp_path: Path, balancer: str) -> Path:
    path = tmp_path / "premortem.toml"
    path.write_text(
        'url = "http://127.0.0.1:8080/"\naccess_log = "/tmp/h.log"\n'
        'access_log_format = "haproxy"\n' + balancer
    )
    return path


def test_the_fleet_configs_balancer_table(tmp_path: Path) -> None:
    path = _fleet_toml(
        tmp_path,
        '[balancer]\nadmin_socket = "/run/haproxy/admin.sock"\n'
        '[balancer.event_stores]\nweb-01 = "/var/lib/premortem/web-01"\n',
    )
    config = read_site_config(path)
    assert config.balancer is not None and config.docroot == ""
    assert config.balancer.backend == "web"
    assert config.balancer.event_stores == {"web-01": "/var/lib/premortem/web-01"}
    write_site_config(config, tmp_path / "again.toml")
    assert read_site_config(tmp_path / "again.toml") == config
    with pytest.raises(PremortemError, match=r"'admin_sock'.*did you mean 'admin_socket'"):
        read_site_config(_fleet_toml(tmp_path, '[balancer]\nadmin_sock = "x"\n'))
    with pytest.raises(PremortemError, match="event_stores"):
        read_site_config(_fleet_toml(tmp_path, "[balancer]\nevent_stores = 3\n"))
    with pytest.raises(PremortemError, match="only 'haproxy'"):
        read_site_config(_fleet_toml(tmp_path, '[balancer]\nkind = "nginx"\n'))
    # Without [balancer], site_root and docroot are still required.
    with pytest.raises(PremortemError, match="lacks required keys: site_root, docroot"):
        site_config_from_dict({"url": "http://x/"}, "x.toml")


def test_the_report_of_a_fleet_incident(tmp_path: Path) -> None:
    log = tmp_path / "haproxy.log"
    stamp = (T0 + timedelta(seconds=5)).strftime("%d/%b/%Y:%H:%M:%S")
    answers = [("web-01", 200), ("web-02", 500), ("web-02", 500), ("web-03", 200)]
    lines = [HAPROXY_LINE.format(stamp=stamp, server=s, status=st) for s, st in answers]
    log.write_text("".join(lines))
    with open_store(tmp_path / "web-02") as store:
        store.add_event("deploy.switch", "switched to r2", at=T0 - timedelta(minutes=2))
    with open_store(tmp_path / "state") as store:
        store.open_incident(
            title="backend web-02 is failing behind the balancer", trigger="backend",
            detected_at=T0 + timedelta(seconds=6), first_error_at=T0 + timedelta(seconds=5),
        )  # fmt: skip
        store.resolve_incident(1, resolved_at=T0 + timedelta(seconds=20))
        report = build_report(
            store, 1, access_log=log, site_log=SiteLog(HAPROXY),
            event_stores={"web-02": str(tmp_path / "web-02"), "web-03": str(tmp_path / "none")},
        )  # fmt: skip
    assert report.impact is not None and report.impact.requests_failed == 2
    per_backend = {b.name: (b.requests, b.failed) for b in report.impact.per_backend}
    assert per_backend == {"web-01": (1, 0), "web-02": (2, 2), "web-03": (1, 0)}
    assert any(e.text == "web-02: switched to r2" for e in report.timeline)
    assert "| `web-02` | 2 | 2 (100.0%) | 1 |" in render_markdown(report)


def test_the_fleet_diagnosis_needs_an_inventory_and_says_none_when_it_cannot_run(
    tmp_path: Path,
) -> None:
    """Without an inventory, or with one that is not there, the balancer's diagnosis gives
    None (the watch records `diagnosis.failed`) instead of raising into the watch."""
    from premortem.cli.watch import fleet_diagnose_backends, fleet_rollback_hook_for

    missing = read_site_config(
        _fleet_toml(tmp_path, f'[balancer]\ninventory = "{tmp_path / "inventory.ini"}"\n')
    )
    assert fleet_diagnose_backends(missing)(["web-02"]) is None
    no_inventory = read_site_config(_fleet_toml(tmp_path, "[balancer]\n"))
    assert fleet_diagnose_backends(no_inventory)(["web-02"]) is None
    with pytest.raises(PremortemError, match="names no inventory"):
        fleet_rollback_hook_for(no_inventory)(RollbackRequest(1, T0, None, None, ("web-02",)))


def test_an_unreadable_runtime_api_is_recorded_once_and_watch_goes_on(tmp_path: Path) -> None:
    log = tmp_path / "haproxy.log"
    log.write_text("")
    settings = WatchSettings(
        urls=[], state_dir=tmp_path / "state", access_log=log, site_log=SiteLog(HAPROXY),
        thresholds=FAST, tick=0.05,
        balancer=BalancerWatch(str(tmp_path / "no.sock"), "web", {}, 0.1),
    )  # fmt: skip
    watcher = Watcher(settings)
    _run(watcher, log, then=0.5)  # the log alone still opens the incident
    with open_store(tmp_path / "state") as store:
        (unreachable,) = store.events(kinds=["balancer.unreachable"])
        assert "no.sock" in unreachable.message
        assert store.incidents()[0].data["failing_backends"] == ["web-02"]
