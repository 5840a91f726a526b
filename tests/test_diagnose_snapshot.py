"""The text of `premortem diagnose` on the seed, from recorded lab evidence, as a snapshot.

Refresh after an intended change of the output: PREMORTEM_UPDATE_SNAPSHOTS=1 pytest
tests/test_diagnose_snapshot.py (then read the diff of tests/fixtures/snapshots/).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from rich.console import Console

from fixtures.diagnose.recorded import load_scenario
from premortem.diagnosis import Diagnosis, rank, run_analyzers
from premortem.redact import Redactor
from premortem.render.diagnosis_text import render_diagnosis_text
from test_analyzer_missing_file import make_release

SNAPSHOT = Path(__file__).parent / "fixtures" / "snapshots" / "diagnose-seed.txt"
SECRET = "s3cret-of-the-seed-site"


def seed_diagnosis(root: Path) -> Diagnosis:
    evidence = load_scenario("seed", root)
    evidence.could_not_see.append("logs: PHP's log_errors is off for this site")
    findings = rank(run_analyzers(evidence, {}, []), evidence)
    return Diagnosis(
        url=evidence.url,
        status="failing",
        findings=findings,
        evidence={"requests": [evidence.http.to_dict()] if evidence.http else []},
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
    return buffer.getvalue().replace(str(root), "<RELEASE>")


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
