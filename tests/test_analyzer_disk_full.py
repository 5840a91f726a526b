"""disk-full: ENOSPC in the trace or the log, or a file system almost out of space."""

from __future__ import annotations

from pathlib import Path

from fixtures.diagnose.recorded import load_logs, with_files
from premortem.analyzers import disk_full
from premortem.collectors import EvidenceSet
from premortem.collectors.database import DatabaseEvidence
from premortem.collectors.host import DiskUsage, HostEvidence
from premortem.collectors.trace import evidence_from_output

GIB = 1024**3


def test_enospc_in_trace_fires() -> None:
    trace = evidence_from_output(
        "200 10:00:00.000001 accept4(3, {sa_family=AF_INET, sin_port=htons(40000), "
        'sin_addr=inet_addr("127.0.0.1")}, [16], SOCK_CLOEXEC) = 9\n'
        '200 10:00:00.000300 openat(AT_FDCWD, "/var/lib/php/sessions/sess_x", '
        "O_RDWR|O_CREAT|O_NOFOLLOW, 0600) = -1 ENOSPC (No space left on device)\n",
        40000,
    )
    [finding] = disk_full.DiskFull().analyze(with_files(EvidenceSet(url="u", trace=trace)))
    assert finding.severity == "error" and "ENOSPC" in finding.quoted[0]


def test_recorded_log_line_fires() -> None:
    # Recorded: a page writing 100 kB to a full 64 kB tmpfs.
    logs = load_logs((Path(__file__).parent / "fixtures/diagnose/logs/enospc.log").read_text())
    [finding] = disk_full.DiskFull().analyze(with_files(EvidenceSet(url="u", logs=logs)))
    assert finding.severity == "error" and "No space left on device" in finding.quoted[0]


def test_nearly_full_disk_and_free_disk() -> None:
    full = HostEvidence(disks=[DiskUsage("/srv", 100 * GIB, GIB // 5, 1000, 900)])
    [finding] = disk_full.DiskFull().analyze(with_files(EvidenceSet(url="u", host=full)))
    assert finding.severity == "error"
    low = HostEvidence(disks=[DiskUsage("/srv", 100 * GIB, 3 * GIB, 1000, 900)])
    assert (
        disk_full.DiskFull().analyze(with_files(EvidenceSet(url="u", host=low)))[0].severity
        == "warning"
    )
    roomy = HostEvidence(disks=[DiskUsage("/srv", 100 * GIB, 50 * GIB, 1000, 900)])
    assert disk_full.DiskFull().analyze(with_files(EvidenceSet(url="u", host=roomy))) == []


def full_run_dir(tmp_path: Path, running: bool) -> EvidenceSet:
    # Recorded on the lab (`lab break disk-full`): MariaDB's run dir on a full 64 kB tmpfs.
    run = tmp_path / "mariadb" / "run"
    run.mkdir(parents=True)
    host = HostEvidence(
        disks=[DiskUsage(str(run), 65536, 0, 3085510, 3085506)],
    )
    database = DatabaseEvidence(running=running, run_dirs=[str(run)])
    return EvidenceSet(url="u", host=host, database=database)


def test_database_that_cannot_start_on_a_full_run_dir_is_the_cause(tmp_path: Path) -> None:
    [finding] = disk_full.DiskFull().analyze(with_files(full_run_dir(tmp_path, running=False)))
    assert finding.severity == "error" and "run directory" in finding.message
    # Above database-connection's best (0.97): the full disk explains the refused connection.
    assert (finding.confidence or 0) > 0.97
    assert finding.fix is not None and f"df -h {tmp_path}/mariadb/run" in finding.fix.description


def test_full_disk_with_the_database_running_is_not_blamed_for_it(tmp_path: Path) -> None:
    [finding] = disk_full.DiskFull().analyze(with_files(full_run_dir(tmp_path, running=True)))
    assert "run directory" not in finding.message and (finding.confidence or 0) < 0.97
