"""database-connection over the recorded db-down scenario (MariaDB stopped, log silent)."""

from __future__ import annotations

from pathlib import Path

from fixtures.diagnose.recorded import load_scenario, write_lines
from premortem.analyzers import database_connection
from premortem.collectors import EvidenceSet
from premortem.collectors.http import HttpEvidence
from premortem.collectors.trace import evidence_from_output

RECORDED_DB_PORT = 54951  # the lab's MariaDB port when the fixture was recorded


def make_release(root: Path, db_host: str) -> Path:
    write_lines(root / "wp-config.php", {2: f"define( 'DB_HOST', '{db_host}' );"})
    return root


def test_db_down_fires_from_page_and_trace(tmp_path: Path) -> None:
    root = make_release(tmp_path / "release", f"127.0.0.1:{RECORDED_DB_PORT}")
    [finding] = database_connection.analyze(load_scenario("db-down", root))
    assert f"127.0.0.1:{RECORDED_DB_PORT}" in finding.message
    assert "nothing accepts connections" in finding.message
    sources = {q.split(":")[0] for q in finding.evidence}
    assert {"http", "trace", "config"} <= sources
    assert finding.fix is not None and finding.fix.commands


def test_db_error_page_alone_fires(tmp_path: Path) -> None:
    root = make_release(tmp_path / "release", "localhost")
    evidence = load_scenario("db-down", root, trace=False, logs=False)
    [finding] = database_connection.analyze(evidence)
    assert finding.evidence[0].startswith('http: 500 with "Error establishing')


def test_healthy_page_with_working_db_does_not_fire(tmp_path: Path) -> None:
    root = make_release(tmp_path / "release", f"127.0.0.1:{RECORDED_DB_PORT}")
    assert database_connection.analyze(load_scenario("healthy", root)) == []


def test_refused_optional_connection_on_a_working_page_does_not_fire() -> None:
    # A plugin's failed call to some service while the page itself answers 200.
    trace = evidence_from_output(
        "100 10:00:00.000001 accept4(3, {sa_family=AF_INET, sin_port=htons(40000), "
        'sin_addr=inet_addr("127.0.0.1")}, [16], SOCK_CLOEXEC) = 9\n'
        "100 10:00:00.000100 connect(11, {sa_family=AF_INET, sin_port=htons(9200), "
        'sin_addr=inet_addr("127.0.0.1")}, 16) = -1 ECONNREFUSED (Connection refused)\n',
        40000,
    )
    evidence = EvidenceSet(url="u", http=HttpEvidence(url="u", status=200), trace=trace)
    assert database_connection.analyze(evidence) == []
