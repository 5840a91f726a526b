"""The text of `premortem diagnose` on the seed, from recorded lab evidence, as snapshots.

diagnose-seed.txt: the seed's trace alone. diagnose-seed-explain.txt: `--explain` on the
seed with its trace and error log (tests/fixtures/diagnose/lab/seed-logged) plus a server,
a database, a recent change and an almost full disk given as data (paths: <RELEASE> for
the release tree, <LAB> for its parent). Refresh after an intended change of the output:
PREMORTEM_UPDATE_SNAPSHOTS=1 pytest tests/test_diagnose_snapshot.py (then read the diff of
tests/fixtures/snapshots/).
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from rich.console import Console

from fixtures.diagnose.recorded import load_scenario
from premortem.collectors.changes import ChangedFile, ChangesEvidence
from premortem.collectors.database import DatabaseEvidence
from premortem.collectors.host import DiskUsage, HostEvidence
from premortem.collectors.server import ApacheSite, ServerEvidence
from premortem.diagnosis import Diagnosis, diagnose_recorded, rank, run_analyzers
from premortem.redact import Redactor
from premortem.render.diagnosis_text import render_diagnosis_text
from test_analyzer_missing_file import make_release

SNAPSHOT = Path(__file__).parent / "fixtures" / "snapshots" / "diagnose-seed.txt"
EXPLAIN_SNAPSHOT = SNAPSHOT.with_name("diagnose-seed-explain.txt")
CHANGED_AT = 1_795_000_000.0
SECRET = "s3cret-of-the-seed-site"


def seed_diagnosis(root: Path) -> Diagnosis:
    evidence = load_scenario("seed", root)
    evidence.could_not_see.append("logs: PHP's log_errors is off for this site")
    findings = rank(run_analyzers(evidence, {}, []), evidence)
    return Diagnosis(
        url=evidence.url,
        status="failing",
        findings=findings,
        evidence=evidence,
        requests=[evidence.http] if evidence.http else [],
        timings={"server": 0.012, "http": 0.045, "trace": 0.8},
        could_not_see=evidence.could_not_see,
        seconds=1.2,
        redactor=Redactor([SECRET]),
    )


def rendered(diagnosis: Diagnosis, root: Path, explain: bool = False) -> str:
    buffer = io.StringIO()
    render_diagnosis_text(
        diagnosis, Console(file=buffer, width=100, no_color=True), explain=explain
    )
    return buffer.getvalue().replace(str(root), "<RELEASE>").replace(str(root.parent), "<LAB>")


def test_the_seed_reads_as_the_snapshot(tmp_path: Path) -> None:
    root = make_release(tmp_path / "release")
    text = rendered(seed_diagnosis(root), root)
    if os.environ.get("PREMORTEM_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert text == SNAPSHOT.read_text(encoding="utf-8"), "see the module docstring to refresh"
    assert "wp-settings.php:156" in text and "class-wp-locale.php" in text


def test_a_secret_in_the_evidence_never_reaches_the_text(tmp_path: Path) -> None:
    root = make_release(tmp_path / "release")
    diagnosis = seed_diagnosis(root)
    diagnosis.findings[0].message += f" (DB_PASSWORD {SECRET})"
    diagnosis.could_not_see.append(f"logs: {SECRET}")
    for explain in (False, True):
        assert SECRET not in rendered(diagnosis, root, explain)


def seed_with_every_collector(root: Path) -> Diagnosis:
    evidence = load_scenario("seed-logged", root)
    evidence.server = ServerEvidence(
        port=8181,
        kind="apache",
        master_pid=100,
        worker_pids=[101, 102],
        worker_users=["www-data"],
        apache=ApacheSite(
            config_file="/srv/lab/apache/httpd.conf",
            docroot=str(root),
            error_log="/srv/lab/logs/error.log",
            access_log="/srv/lab/logs/access.log",
            php_module_loaded=True,
            php_settings={"log_errors": "On"},
        ),
    )
    evidence.database = DatabaseEvidence(running=True, pid=200, run_dirs=["/srv/lab/run"])
    evidence.changes = ChangesEvidence(
        root=str(root),
        basis="modified in the last 2 h",
        changed=[ChangedFile("wp-settings.php", "modified", CHANGED_AT)],
    )
    evidence.host = HostEvidence(
        disks=[DiskUsage(str(root), 10 * 2**30, 400 * 2**20, 1_000_000, 500_000)]
    )
    evidence.could_not_see.append("logs: cannot read /srv/lab/logs/access.log")
    assert evidence.http is not None
    result = diagnose_recorded(evidence, [evidence.http])
    # Measured times vary from run to run: these are fixed.
    result.timings = {"server": 0.012, "http": 0.034, "trace": 0.456}
    result.seconds = 0.5
    return result


def test_explain_on_the_seed_reads_as_the_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "UTC")  # the change's mtime is shown in local time
    time.tzset()
    root = make_release(tmp_path / "release")
    text = rendered(seed_with_every_collector(root), root, explain=True)
    if os.environ.get("PREMORTEM_UPDATE_SNAPSHOTS"):
        EXPLAIN_SNAPSHOT.write_text(text, encoding="utf-8")
    assert text == EXPLAIN_SNAPSHOT.read_text(encoding="utf-8"), "see the module docstring"
    assert "CAUSE: " in text and "changes (modified in the last 2 h): 1 file(s)" in text
    assert "also seen\n  [warning] disk-full" in text
