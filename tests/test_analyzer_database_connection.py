"""database-connection over the recorded db-down scenario (MariaDB stopped, log silent)."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures.diagnose.recorded import load_logs, load_scenario, with_files, write_lines
from premortem.analyzers import database_connection
from premortem.collectors import EvidenceSet
from premortem.collectors.http import HttpEvidence
from premortem.siteconfig import SiteConfig

RECORDED_DB_PORT = 54951  # the lab's MariaDB port when the fixture was recorded


def make_release(root: Path, db_host: str) -> Path:
    write_lines(root / "wp-config.php", {2: f"define( 'DB_HOST', '{db_host}' );"})
    return root


def test_db_down_fires_from_page_and_trace(tmp_path: Path) -> None:
    root = make_release(tmp_path / "release", f"127.0.0.1:{RECORDED_DB_PORT}")
    [finding] = database_connection.DatabaseConnection().analyze(
        with_files(load_scenario("db-down", root))
    )
    assert f"127.0.0.1:{RECORDED_DB_PORT}" in finding.message
    assert "nothing accepts connections" in finding.message
    sources = finding.sources
    assert {"http", "trace", "config"} <= sources
    assert finding.fix is not None and finding.fix.commands


def test_db_error_page_alone_fires(tmp_path: Path) -> None:
    root = make_release(tmp_path / "release", "localhost")
    evidence = load_scenario("db-down", root, trace=False, logs=False)
    [finding] = database_connection.DatabaseConnection().analyze(with_files(evidence))
    assert finding.quoted[0].startswith('http: 500 with "Error establishing')


def test_healthy_page_with_working_db_does_not_fire(tmp_path: Path) -> None:
    root = make_release(tmp_path / "release", f"127.0.0.1:{RECORDED_DB_PORT}")
    assert (
        database_connection.DatabaseConnection().analyze(with_files(load_scenario("healthy", root)))
        == []
    )


WRONG_PASSWORD = Path(__file__).parent / "fixtures" / "diagnose" / "lab" / "wrong-db-password"


def wrong_password_evidence(docroot: Path, mariadb_log: str) -> EvidenceSet:
    """Recorded `lab break wrong-db-password`: the page, MariaDB's log, the wp-config.php."""
    docroot.mkdir(parents=True)
    (docroot / "wp-config.php").write_text((WRONG_PASSWORD / "wp-config.php").read_text())
    data = json.loads((WRONG_PASSWORD / "http.json").read_text())
    http = HttpEvidence(url="u", status=data["status"], body=data["body"])
    logs = load_logs(mariadb_log)
    return EvidenceSet(url="u", http=http, logs=logs, docroot=str(docroot))


def test_access_denied_in_the_database_log_names_the_password_line(tmp_path: Path) -> None:
    evidence = wrong_password_evidence(
        tmp_path / "site", (WRONG_PASSWORD / "mariadb.log").read_text()
    )
    [finding] = database_connection.DatabaseConnection().analyze(with_files(evidence))
    assert (finding.file, finding.line) == ("wp-config.php", 5)
    assert "Access denied" in finding.message and "DB_PASSWORD" in finding.message
    assert any("Access denied for user 'wordpress'" in q for q in finding.quoted)
    assert finding.fix is not None and finding.fix.commands == ()
    assert "[REDACTED]" not in finding.to_dict().__repr__()  # the value is never quoted


def test_same_page_without_a_denial_is_not_about_the_password(tmp_path: Path) -> None:
    # Look-alike: the same page, MariaDB's log without "Access denied" (a normal abort).
    log = (
        "2026-11-26  1:30:13 3 [Warning] Aborted connection 3 to db: 'unconnected' user: "
        "'unauthenticated' host: '127.0.0.1' (This connection closed normally without "
        "authentication)\n"
    )
    [finding] = database_connection.DatabaseConnection().analyze(
        with_files(wrong_password_evidence(tmp_path / "site", log))
    )
    assert finding.line is None and "Access denied" not in finding.message


def test_db_down_in_a_lab_is_started_the_labs_way(tmp_path: Path) -> None:
    root = make_release(tmp_path / "release", "localhost")
    evidence = load_scenario("db-down", root, trace=False, logs=False)
    evidence.site = SiteConfig(
        url="http://127.0.0.1:8181/",
        site_root=str(tmp_path),
        docroot=str(root),
        extra={"lab": {"dir": "/srv/lab", "port": 8181}},
    )
    [finding] = database_connection.DatabaseConnection().analyze(with_files(evidence))
    assert finding.fix is not None
    assert finding.fix.commands == ("premortem lab up --dir /srv/lab --port 8181",)
