"""too-many-open-files: EMFILE in the trace, or workers at their descriptor limit."""

from __future__ import annotations

from pathlib import Path

from fixtures.diagnose.recorded import load_logs
from premortem.analyzers import too_many_open_files
from premortem.collectors import EvidenceSet
from premortem.collectors.host import HostEvidence, WorkerFds
from premortem.collectors.trace import evidence_from_output

FIXTURES = Path(__file__).parent / "fixtures" / "diagnose"
ACCEPT = (
    "200 10:00:00.000001 accept4(3, {sa_family=AF_INET, sin_port=htons(40000), "
    'sin_addr=inet_addr("127.0.0.1")}, [16], SOCK_CLOEXEC) = 9\n'
)


def test_recorded_emfile_fires_from_trace_and_log() -> None:
    # Recorded on an Apache started with `ulimit -n 48` and a page that opens 200 files.
    trace = evidence_from_output((FIXTURES / "trace" / "emfile.strace").read_text(), 36574)
    assert trace.matched_request
    logs = load_logs((FIXTURES / "logs" / "emfile.log").read_text())
    [finding] = too_many_open_files.TooManyOpenFiles().analyze(
        EvidenceSet(url="u", trace=trace, logs=logs)
    )
    assert finding.severity == "error"
    assert finding.sources == {"trace", "log"}
    assert "EMFILE" in finding.quoted[0]


def test_worker_near_limit_is_a_warning_and_headroom_is_nothing() -> None:
    near = HostEvidence(workers=[WorkerFds(1, 1000, 1024)])
    [finding] = too_many_open_files.TooManyOpenFiles().analyze(EvidenceSet(url="u", host=near))
    assert finding.severity == "warning"
    roomy = HostEvidence(workers=[WorkerFds(1, 40, 1024)])
    assert too_many_open_files.TooManyOpenFiles().analyze(EvidenceSet(url="u", host=roomy)) == []


def test_enoent_is_not_emfile() -> None:
    trace = evidence_from_output(
        ACCEPT + '200 10:00:00.000200 openat(AT_FDCWD, "/srv/site/x.php", O_RDONLY) '
        "= -1 ENOENT (No such file or directory)\n",
        40000,
    )
    assert too_many_open_files.TooManyOpenFiles().analyze(EvidenceSet(url="u", trace=trace)) == []
