"""Traces and logs of php-fpm workers (recorded on the nginx lab) through the collectors.

php-fpm workers accept nginx's FastCGI connections on a unix socket: no client port to
match the replay by. The recordings (tests/fixtures/diagnose/nginx/lab/, made by
record_lab.py there) check that the replay's request is still found, that a healthy page's
many failed probes stay noise, and that the seed is found from the trace (silent) and from
PHP's own error log (seed-logged).
"""

from __future__ import annotations

import json
from pathlib import Path

from fixtures.diagnose.recorded import load_logs, with_files
from premortem.analyzers import missing_file
from premortem.collectors import EvidenceSet
from premortem.collectors.trace import evidence_from_output, parse_strace, requests_in
from test_analyzer_missing_file import make_release

NGINX_LAB = Path(__file__).parent / "fixtures" / "diagnose" / "nginx" / "lab"


def recorded(scenario: str, name: str, root: Path) -> str:
    text = (NGINX_LAB / scenario / name).read_text()
    return text.replace("@ROOT@", str(root)).replace("@LAB@", str(root.parent))


def client_port(scenario: str) -> int:
    return int(json.loads((NGINX_LAB / scenario / "http.json").read_text())["client_port"])


def test_fpm_requests_are_accepted_on_a_unix_socket(tmp_path: Path) -> None:
    text = recorded("seed", "trace.strace", tmp_path / "release")
    [request] = [r for r in requests_in(parse_strace(text)) if len(r.calls) > 1]
    assert request.client_port is None and request.from_unix_socket


def test_silent_seed_found_in_the_workers_trace(tmp_path: Path) -> None:
    root = make_release(tmp_path / "release")
    trace = evidence_from_output(recorded("seed", "trace.strace", root), client_port("seed"))
    # nginx's client port is not seen by php-fpm: the unix-socket request is the replay's.
    assert trace.matched_request
    [cause] = trace.causes
    assert cause.call.path == f"{root}/wp-includes/class-wp-locale.phpp"
    assert cause.call.opens_for_reading
    evidence = EvidenceSet(url="http://127.0.0.1:8585/", docroot=str(root), trace=trace)
    [finding] = missing_file.MissingFile().analyze(with_files(evidence))
    assert (finding.file, finding.line) == ("wp-settings.php", 156)
    assert finding.quoted[0].startswith("trace: openat(")


def test_healthy_page_s_failed_probes_are_noise(tmp_path: Path) -> None:
    root = tmp_path / "release"
    trace = evidence_from_output(recorded("healthy", "trace.strace", root), client_port("healthy"))
    assert trace.matched_request
    assert len(trace.failed) > 10  # WordPress probes many optional files...
    assert trace.causes == []  # ...none of which is a cause
    assert f"{root}/wp-settings.php" in trace.loaded_files


def test_logged_seed_from_php_s_own_log(tmp_path: Path) -> None:
    root = make_release(tmp_path / "release")
    logs = load_logs(recorded("seed-logged", "php-error.log", root))
    fatal = [m for m in logs.php if m.severity == "Fatal error"]
    assert [(m.file, m.line) for m in fatal] == [(f"{root}/wp-settings.php", 156)]
    evidence = EvidenceSet(url="http://127.0.0.1:8585/", docroot=str(root), logs=logs)
    [finding] = missing_file.MissingFile().analyze(with_files(evidence))
    assert (finding.file, finding.line) == ("wp-settings.php", 156)
    # nginx's own error log stayed silent: PHP's log is where the answer is.
    assert recorded("seed-logged", "error.log", root) == ""


def test_silent_seed_logs_nothing_from_php(tmp_path: Path) -> None:
    root = tmp_path / "release"
    assert recorded("seed", "php-error.log", root) == ""
    fpm_log = load_logs(recorded("seed", "php-fpm.log", root))
    # The reload that turned log_errors off, nothing from PHP itself.
    assert fpm_log.lines and fpm_log.php == []
