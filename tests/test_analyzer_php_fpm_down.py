"""php-fpm-down: nginx's 502 explained by the php-fpm pool behind it (recorded nginx lab evidence).

Recorded on an nginx + php-fpm lab (tests/fixtures/diagnose/nginx/record_lab.py): the
php-fpm-down scenario's answer and log lines; upstream-errors.log holds real nginx lines of
a refused socket (111, fires) and of a socket nginx may not write (13, a look-alike).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fixtures.diagnose.recorded import with_files
from premortem.analyzers import php_fpm_down
from premortem.collectors import EvidenceSet
from premortem.collectors.http import HttpEvidence
from premortem.collectors.logs import LogEvidence, parse_error_line
from premortem.collectors.phpfpm import PhpFpmEvidence, collect_php_fpm
from premortem.collectors.server import ServerEvidence
from premortem.host import RecordedFile, RecordedHost, ServiceManager
from premortem.siteconfig import SiteConfig

RECORDED = Path(__file__).parent / "fixtures" / "diagnose" / "nginx"
SCENARIO = RECORDED / "lab" / "php-fpm-down"


@pytest.fixture
def lab_dir(tmp_path: Path) -> Path:
    """The recorded lab's php-fpm config under a temp @LAB@ (nothing runs with it)."""
    shutil.copytree(RECORDED / "lab" / "php-fpm", tmp_path / "php-fpm")
    for conf in (tmp_path / "php-fpm").iterdir():
        conf.write_text(conf.read_text().replace("@LAB@", str(tmp_path)))
    (tmp_path / "logs").mkdir()
    return tmp_path


def stopped(lab: Path) -> RecordedHost:
    """The lab's machine as data with nothing running: its config files, no process."""
    files = {str(p): RecordedFile(content=p.read_bytes()) for p in lab.rglob("*") if p.is_file()}
    return RecordedHost(files=files)


def http_answer(scenario: Path) -> HttpEvidence:
    data = json.loads((scenario / "http.json").read_text())
    return HttpEvidence(
        url="http://127.0.0.1:8585/",
        status=data["status"],
        reason=data["reason"],
        content_type=data["content_type"],
        client_port=data["client_port"],
        body=data["body"],
    )


def logs_of(lab: Path, *files: tuple[Path, str], this_request: bool = True) -> LogEvidence:
    """Recorded log files as the logs collector would have read them, at `lab`."""
    logs = LogEvidence()
    for recorded, source in files:
        for raw in recorded.read_text().replace("@LAB@", str(lab)).splitlines():
            line = parse_error_line(raw, source=source)
            assert line is not None, raw
            line.this_request = this_request
            logs.lines.append(line)
    return logs


def evidence_at(lab: Path, logs: LogEvidence, fpm: PhpFpmEvidence | None) -> EvidenceSet:
    # The host's php-fpm binary is part of the evidence (how the pool is started by hand).
    services = ServiceManager(programs=("/usr/sbin/nginx", "/usr/sbin/php-fpm8.2"))
    server = ServerEvidence(port=8585, kind="nginx", php_fpm=fpm, services=services)
    return EvidenceSet(
        url="http://127.0.0.1:8585/", http=http_answer(SCENARIO), server=server, logs=logs
    )


def recorded_down(lab: Path) -> LogEvidence:
    return logs_of(
        lab,
        (SCENARIO / "error.log", str(lab / "logs" / "error.log")),
        (SCENARIO / "php-fpm.log", str(lab / "logs" / "php-fpm.log")),
    )


def test_stopped_pool_fires_with_its_config_and_log(lab_dir: Path) -> None:
    socket = lab_dir / "php-fpm" / "run" / "php-fpm.sock"
    fpm = collect_php_fpm(
        f"unix:{socket}", str(lab_dir / "php-fpm" / "php-fpm.conf"), host=stopped(lab_dir)
    )
    assert fpm.pool is not None and not fpm.running
    [finding] = php_fpm_down.PhpFpmDown().analyze(
        with_files(evidence_at(lab_dir, recorded_down(lab_dir), fpm))
    )
    assert finding.rule == "php-fpm-down" and finding.severity == "error"
    assert finding.message.startswith("php-fpm is not running")
    assert str(socket) in finding.message
    assert (finding.file, finding.line) == (str(lab_dir / "php-fpm" / "pool-www.conf"), 5)
    assert any("(2: No such file or directory)" in q for q in finding.quoted)
    assert f"host: {socket} does not exist" in finding.quoted
    assert any("exiting, bye-bye" in q for q in finding.quoted)  # php-fpm's own log
    assert finding.fix is not None
    assert finding.fix.commands == (f"/usr/sbin/php-fpm8.2 -y {fpm.config_file}",)


def test_a_lab_is_started_the_labs_way(lab_dir: Path) -> None:
    socket = lab_dir / "php-fpm" / "run" / "php-fpm.sock"
    fpm = collect_php_fpm(
        f"unix:{socket}", str(lab_dir / "php-fpm" / "php-fpm.conf"), host=stopped(lab_dir)
    )
    evidence = evidence_at(lab_dir, recorded_down(lab_dir), fpm)
    evidence.site = SiteConfig(
        url="http://127.0.0.1:8585/",
        site_root=str(lab_dir / "site"),
        docroot=str(lab_dir / "site" / "current"),
        extra={"lab": {"dir": str(lab_dir), "port": 8585}},
    )
    [finding] = php_fpm_down.PhpFpmDown().analyze(with_files(evidence))
    assert finding.fix is not None
    assert finding.fix.commands == (f"premortem lab up --dir {lab_dir} --port 8585",)


def test_a_refused_socket_fires_too(lab_dir: Path) -> None:
    lines = RECORDED / "upstream-errors.log"
    logs = logs_of(lab_dir, (lines, str(lab_dir / "logs" / "error.log")))
    logs.lines = [line for line in logs.lines if "(111:" in line.message]
    [finding] = php_fpm_down.PhpFpmDown().analyze(with_files(evidence_at(lab_dir, logs, None)))
    assert "refuses connections" in finding.message
    assert finding.fix is not None and finding.fix.commands  # a start command, pool unknown


def test_an_old_502_line_does_not_fire(lab_dir: Path) -> None:
    # The same line, but from an earlier incident (not the replayed request's).
    logs = logs_of(
        lab_dir, (SCENARIO / "error.log", str(lab_dir / "logs" / "error.log")), this_request=False
    )
    assert php_fpm_down.PhpFpmDown().analyze(with_files(evidence_at(lab_dir, logs, None))) == []


def test_a_500_with_the_line_does_not_fire(lab_dir: Path) -> None:
    evidence = evidence_at(lab_dir, recorded_down(lab_dir), None)
    assert evidence.http is not None
    evidence.http.status = 500
    assert php_fpm_down.PhpFpmDown().analyze(with_files(evidence)) == []
