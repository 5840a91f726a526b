"""The postmortem assembled from a store and the recorded access log, in all three formats."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from premortem.errors import PremortemError
from premortem.report.build import build_report, site_config_files
from premortem.report.markdown import render_markdown
from premortem.store import open_store

FIXTURES = Path(__file__).parent / "fixtures" / "report"
DIAGNOSIS = json.loads((FIXTURES / "diagnosis-seed.json").read_text())
FIRST_ERROR = datetime(2026, 11, 26, 0, 56, 23, tzinfo=UTC)
DETECTED = FIRST_ERROR + timedelta(seconds=1.166)
DIAGNOSED = FIRST_ERROR + timedelta(seconds=4.9)
FIXED = datetime(2026, 11, 26, 0, 56, 33, 500000, tzinfo=UTC)
RECOVERED = datetime(2026, 11, 26, 0, 56, 34, tzinfo=UTC)
RESOLVED = datetime(2026, 11, 26, 0, 56, 45, tzinfo=UTC)


def make_site(tmp_path: Path, diagnosis: dict[str, object] | None = DIAGNOSIS) -> int:
    shutil.copy(FIXTURES / "access-seed.log", tmp_path / "access.log")
    with open_store(tmp_path / "state") as store:
        # An old deploy (outside the look-back) and the one that shipped the typo.
        store.add_event("deploy.done", "release r1 live", at=FIRST_ERROR - timedelta(days=3))
        store.add_event("deploy.switch", "current -> r2", at=FIRST_ERROR - timedelta(seconds=5))
        incident = store.open_incident(
            title="30% of requests answered 5xx",
            trigger="error-rate",
            detected_at=DETECTED,
            first_error_at=FIRST_ERROR,
        )
        if diagnosis is not None:
            store.add_diagnosis(diagnosis, incident_id=incident.id, at=DIAGNOSED)
            store.add_event("diagnosis", "diagnosis: typo", incident_id=incident.id, at=DIAGNOSED)
        store.add_event("fix.applied", "wp-settings.php line 156: .phpp -> .php", at=FIXED)
        store.add_event(
            "note",
            "customer support informed",
            incident_id=incident.id,
            at=FIXED - timedelta(seconds=2),
        )
        store.add_measure(incident.id, "Review include changes in code review")
        store.resolve_incident(incident.id, resolved_at=RESOLVED, recovered_at=RECOVERED)
        return incident.id


def test_report_holds_impact_times_root_cause_and_measures(tmp_path: Path) -> None:
    incident_id = make_site(tmp_path)
    with open_store(tmp_path / "state") as store:
        report = build_report(store, incident_id, access_log=tmp_path / "access.log")
    data = report.to_dict()
    assert data["impact"]["requests_failed"] == 72
    assert data["impact"]["window_start"].startswith("2026-11-26T00:56:23")
    assert data["impact"]["window_end"].startswith("2026-11-26T00:56:45")
    response = data["detection_and_response"]
    assert response["time_to_detect_seconds"] == pytest.approx(1.166)
    assert response["time_to_diagnose_seconds"] == pytest.approx(4.9 - 1.166)
    assert response["time_to_recover_seconds"] == 11.0
    assert data["root_cause"]["file"] == "wp-settings.php"
    assert data["root_cause"]["line"] == 156
    assert "fix.applied" in data["resolution"]
    kinds = [entry["kind"] for entry in data["timeline"]]
    # The recent deploy is in, the three-day-old one is not; time order.
    assert kinds == [
        "deploy.switch",
        "first-error",
        "incident.open",
        "diagnosis",
        "note",
        "fix.applied",
        "incident.resolved",
    ]
    assert any("premortem check" in m for m in data["corrective_measures"])
    assert "Review include changes in code review" in data["corrective_measures"]
    assert "premortem check" in data["ci_job"]
    assert report.marks["deploy"] == FIRST_ERROR - timedelta(seconds=5)

    markdown = render_markdown(report, "chart.png")
    for section in (
        "## Issue Summary",
        "## Timeline (UTC)",
        "## Root Cause and Resolution",
        "## Corrective and Preventative Measures",
        "## Impact",
        "## Detection and Response",
    ):
        assert section in markdown
    assert "class-wp-locale.phpp" in markdown
    assert "![Error rate over time](chart.png)" in markdown
    assert "72 of" in report.summary


def test_without_diagnosis_or_known_rule_no_ci_job(tmp_path: Path) -> None:
    incident_id = make_site(tmp_path, diagnosis=None)
    with open_store(tmp_path / "state") as store:
        report = build_report(store, incident_id, access_log=tmp_path / "access.log")
    assert report.root_cause is None
    assert report.ci_job is None
    assert "No diagnosis was stored" in render_markdown(report)

    other = {"findings": [{"rule": "database-connection", "severity": "error", "message": "db"}]}
    (tmp_path / "b").mkdir()
    incident_id = make_site(tmp_path / "b", diagnosis=other)
    with open_store(tmp_path / "b" / "state") as store:
        report = build_report(store, incident_id, access_log=tmp_path / "b" / "access.log")
    assert report.ci_job is None
    assert report.root_cause is not None and report.root_cause["rule"] == "database-connection"


def test_unknown_incident_is_a_clear_error(tmp_path: Path) -> None:
    make_site(tmp_path)
    with (
        open_store(tmp_path / "state") as store,
        pytest.raises(PremortemError, match="no incident 9"),
    ):
        build_report(store, 9, access_log=None)


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "premortem", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def test_cli_formats(tmp_path: Path) -> None:
    incident_id = make_site(tmp_path)
    common = ["--state-dir", str(tmp_path / "state"), "--access-log", str(tmp_path / "access.log")]
    as_json = run_cli("report", str(incident_id), "--format", "json", *common)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["impact"]["requests_failed"] == 72
    out = tmp_path / "pm.md"
    as_md = run_cli("report", str(incident_id), "-o", str(out), *common)
    assert as_md.returncode == 0, as_md.stderr
    assert (tmp_path / "pm.png").read_bytes().startswith(b"\x89PNG")
    assert "(pm.png)" in out.read_text()
    page = tmp_path / "pm.html"
    as_html = run_cli("report", str(incident_id), "--format", "html", "-o", str(page), *common)
    assert as_html.returncode == 0, as_html.stderr
    assert 'src="data:image/png;base64,' in page.read_text()
    listing = run_cli("incidents", "--format", "json", "--state-dir", str(tmp_path / "state"))
    rows = json.loads(listing.stdout)
    assert rows[0]["status"] == "resolved"
    assert set(rows[0]) >= {"id", "status", "first_error_at", "detected_at", "resolved_at"}
    noted = run_cli(
        "note",
        str(incident_id),
        "rolled out the fix to all hosts",
        "--state-dir",
        str(tmp_path / "state"),
    )
    assert noted.returncode == 0, noted.stderr
    again = run_cli("report", str(incident_id), "--format", "json", *common)
    assert any("rolled out the fix" in e["text"] for e in json.loads(again.stdout)["timeline"])


def test_cli_errors_are_clear(tmp_path: Path) -> None:
    missing = run_cli("report", "1", "--state-dir", str(tmp_path / "nothing"))
    assert missing.returncode == 2
    assert "no event store" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert not (tmp_path / "nothing").exists()
    state = tmp_path / "state"
    state.mkdir()
    garbage = b"\x00not a database\x00" * 100
    (state / "premortem.sqlite3").write_bytes(garbage)
    for args in (["incidents"], ["report", "1"], ["note", "1", "x"]):
        proc = run_cli(*args, "--state-dir", str(state))
        assert proc.returncode == 2, args
        assert "cannot be used" in proc.stderr
        assert "Traceback" not in proc.stderr
    assert (state / "premortem.sqlite3").read_bytes() == garbage
    no_site = run_cli("incidents", cwd=tmp_path)
    assert no_site.returncode == 2 and "--config" in no_site.stderr


def test_without_access_log_the_report_says_impact_was_not_measured(tmp_path: Path) -> None:
    incident_id = make_site(tmp_path)
    with open_store(tmp_path / "state") as store:
        report = build_report(store, incident_id, access_log=None)
        elsewhere = build_report(store, incident_id, access_log=tmp_path / "gone" / "access.log")
    assert report.impact is None
    assert report.to_dict()["impact"] is None
    assert "impact not measured" in render_markdown(report)
    assert elsewhere.impact is None and "not found" in (elsewhere.impact_note or "")
    assert "the site failed" in report.summary


def test_timeline_starts_at_the_last_deploy_before_the_first_error(tmp_path: Path) -> None:
    # Deploys the site survived an hour earlier are history, not part of this incident.
    with open_store(tmp_path / "state") as store:
        for minutes, name in ((60, "r1"), (5, "r2")):
            at = FIRST_ERROR - timedelta(minutes=minutes)
            store.add_event("deploy.start", f"deploy of {name}", at=at)
            store.add_event("deploy.done", f"release {name} is live", at=at)
        incident = store.open_incident(
            title="500s", trigger="error-rate", detected_at=DETECTED, first_error_at=FIRST_ERROR
        )
        report = build_report(store, incident.id, access_log=None)
    messages = [entry.text for entry in report.timeline]
    assert "deploy of r2" in messages
    assert "release r2 is live" in messages
    assert not any("r1" in message for message in messages)


def test_title_quotes_the_measured_impact_not_the_detectors_window(tmp_path: Path) -> None:
    # Issue #11: the title said the detector's "6% of requests" while the impact was 43%.
    incident_id = make_site(tmp_path)  # the detector's title: "30% of requests answered 5xx"
    with open_store(tmp_path / "state") as store:
        report = build_report(store, incident_id, access_log=tmp_path / "access.log")
    assert report.impact is not None
    measured = (
        f"{report.impact.failed_percent:.0f}% of requests answered 5xx "
        f"({report.impact.requests_failed} of {report.impact.requests_total})"
    )
    assert report.impact.requests_failed == 72
    assert report.title == measured and "30%" not in report.title
    title_line = render_markdown(report).splitlines()[0]
    assert title_line == f"# Postmortem: incident {incident_id} — {measured}"
    assert report.to_dict()["title"] == measured
    with open_store(tmp_path / "state") as store:
        unmeasured = build_report(store, incident_id, access_log=None)
    assert unmeasured.title == "30% of requests answered 5xx"  # nothing to contradict it


def test_config_edited_before_the_incident_is_in_the_timeline(tmp_path: Path) -> None:
    # Issue #11: the config edit that caused an outage was missing from the timeline.
    incident_id = make_site(tmp_path)
    apache = tmp_path / "apache2"
    (apache / "sites-enabled").mkdir(parents=True)
    (apache / "apache2.conf").write_text("IncludeOptional sites-enabled/*.conf\n")
    vhost = apache / "sites-enabled" / "site.conf"
    vhost.write_text("<VirtualHost *:80>\n</VirtualHost>\n")
    docroot = tmp_path / "docroot"
    docroot.mkdir()
    (docroot / ".htaccess").write_text("RewriteEngine On\n")
    edited = (FIRST_ERROR - timedelta(seconds=20)).timestamp()
    long_ago = (FIRST_ERROR - timedelta(days=3)).timestamp()
    os.utime(vhost, (edited, edited))
    for untouched in (apache / "apache2.conf", docroot / ".htaccess"):
        os.utime(untouched, (long_ago, long_ago))
    files = site_config_files(str(apache / "apache2.conf"), str(docroot))
    assert vhost in files and docroot / ".htaccess" in files
    with open_store(tmp_path / "state") as store:
        report = build_report(
            store, incident_id, access_log=tmp_path / "access.log", config_files=files
        )
    entries = [(e.kind, e.text) for e in report.timeline]
    assert entries[:3] == [
        ("config.changed", f"{vhost} modified"),
        ("deploy.switch", "current -> r2"),
        ("first-error", "first failing request (access-log time: whole seconds)"),
    ]
    assert not any("apache2.conf" in text or ".htaccess" in text for _kind, text in entries)
    assert f"**config.changed**: {vhost} modified" in render_markdown(report)
