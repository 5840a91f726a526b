"""too-many-open-files: EMFILE in the trace, or workers at their descriptor limit."""

from __future__ import annotations

from pathlib import Path

from fixtures.diagnose.recorded import load_logs, with_files
from premortem.analyzers import too_many_open_files
from premortem.collectors import EvidenceSet
from premortem.collectors.host import HostEvidence, WorkerFds
from premortem.collectors.trace import evidence_from_output

FIXTURES = Path(__file__).parent / "fixtures" / "diagnose"


def test_recorded_emfile_fires_from_trace_and_log() -> None:
    # Recorded on an Apache started with `ulimit -n 48` and a page that opens 200 files.
    trace = evidence_from_output((FIXTURES / "trace" / "emfile.strace").read_text(), 36574)
    assert trace.matched_request
    logs = load_logs((FIXTURES / "logs" / "emfile.log").read_text())
    [finding] = too_many_open_files.TooManyOpenFiles().analyze(
        with_files(EvidenceSet(url="u", trace=trace, logs=logs))
    )
    assert finding.severity == "error"
    assert finding.sources == {"trace", "log"}
    assert "EMFILE" in finding.quoted[0]


def test_worker_near_limit_is_a_warning_and_headroom_is_nothing() -> None:
    near = HostEvidence(workers=[WorkerFds(1, 1000, 1024)])
    [finding] = too_many_open_files.TooManyOpenFiles().analyze(
        with_files(EvidenceSet(url="u", host=near))
    )
    assert finding.severity == "warning"
    roomy = HostEvidence(workers=[WorkerFds(1, 40, 1024)])
    assert (
        too_many_open_files.TooManyOpenFiles().analyze(with_files(EvidenceSet(url="u", host=roomy)))
        == []
    )
