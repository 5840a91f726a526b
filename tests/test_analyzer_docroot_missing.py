"""docroot-missing: a `current` link to a deleted release."""

from __future__ import annotations

import os
from pathlib import Path

from fixtures.diagnose.recorded import load_logs, with_files
from premortem.analyzers import docroot_missing
from premortem.collectors import EvidenceSet
from premortem.collectors.http import HttpEvidence


def test_dangling_current_link_fires(tmp_path: Path) -> None:
    current = tmp_path / "current"
    os.symlink(tmp_path / "releases" / "gone", current)
    evidence = EvidenceSet(
        url="u", http=HttpEvidence(url="u", status=404, reason="Not Found"), docroot=str(current)
    )
    [finding] = docroot_missing.DocrootMissing().analyze(with_files(evidence))
    assert str(current) in finding.message
    assert any("does not exist" in q and q.startswith("host:") for q in finding.quoted)
    assert any(q.startswith("http: 404") for q in finding.quoted)


def test_recorded_apache_line_backs_it_up(tmp_path: Path) -> None:
    # Recorded: Apache running with DocumentRoot .../current, then `current` repointed
    # at a release that does not exist (403 and AH00037).
    current = tmp_path / "current"
    os.symlink(tmp_path / "releases" / "gone", current)
    line = (Path(__file__).parent / "fixtures/diagnose/logs/docroot-dangling.log").read_text()
    evidence = EvidenceSet(
        url="u",
        http=HttpEvidence(url="u", status=403, reason="Forbidden"),
        docroot=str(current),
        logs=load_logs(line.replace("/tmp/diag-scratch/current", str(current))),
    )
    [finding] = docroot_missing.DocrootMissing().analyze(with_files(evidence))
    assert any(q.startswith("log: ") and "AH00037" in q for q in finding.quoted)
