"""The diagnosis engine without a lab: ranking, redaction of the whole output, exit codes."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from premortem.cli.diagnose import parse_since
from premortem.collectors import EvidenceSet
from premortem.collectors.changes import ChangedFile, ChangesEvidence
from premortem.collectors.http import HttpEvidence
from premortem.diagnosis import DiagnoseOptions, Diagnosis, diagnose, diagnose_recorded, rank
from premortem.errors import PremortemError
from premortem.host import ProcessInfo, RecordedHost
from premortem.model import Finding, Quote
from premortem.redact import Redactor
from premortem.render.diagnosis_text import render_diagnosis_text


def finding(rule: str, confidence: float, *quotes: str, file: str | None = None) -> Finding:
    return Finding(
        rule=rule,
        severity="error",
        message=rule,
        confidence=confidence,
        evidence=[Quote.parse(q) for q in quotes],
        file=file,
    )


def test_recent_change_raises_a_finding_above_an_equal_one() -> None:
    changes = ChangesEvidence(root="/srv", changed=[ChangedFile("wp-settings.php", "modified")])
    evidence = EvidenceSet(url="u", changes=changes)
    a = finding("a", 0.8, "log: x", file="other.php")
    b = finding("b", 0.8, "trace: y", file="wp-settings.php")
    ranked = rank([a, b], evidence)
    assert [f.rule for f in ranked] == ["b", "a"]
    assert ranked[0].quoted[-1] == "changes: wp-settings.php modified recently"
    assert ranked[0].confidence == pytest.approx(0.9)
    # The ranking is new: the findings given are left as they were.
    assert b.quoted == ["trace: y"] and b.confidence == 0.8


def test_errors_rank_above_warnings_and_more_sources_break_ties() -> None:
    warning = Finding(rule="w", severity="warning", message="w", confidence=0.99)
    one = finding("one", 0.7, "log: x")
    two = finding("two", 0.7, "log: x", "trace: y")
    assert [f.rule for f in rank([warning, one, two], EvidenceSet(url="u"))] == ["two", "one", "w"]


def diagnosis(status: str, findings: list[Finding], could_not_see: list[str]) -> Diagnosis:
    return Diagnosis(
        url="u",
        status=status,
        findings=findings,
        evidence=EvidenceSet(url="u"),
        requests=[],
        timings={},
        could_not_see=could_not_see,
        seconds=0.0,
    )


def test_to_dict_and_text_redact_everything() -> None:
    secret = "0123456789abcdef0123"
    result = Diagnosis(
        url="http://127.0.0.1/",
        status="failing",
        findings=[finding("x", 0.9, f"log: DB_PASSWORD={secret}", f"trace: {secret}")],
        evidence=EvidenceSet(url="http://127.0.0.1/"),
        requests=[HttpEvidence(url="http://127.0.0.1/", headers={"x": secret})],
        timings={},
        could_not_see=[f"logs: {secret}"],
        seconds=0.1,
        redactor=Redactor([secret]),
    )
    assert secret not in repr(result.to_dict())
    assert result.exit_code == 1
    text = io.StringIO()
    render_diagnosis_text(result, Console(file=text), explain=True)
    assert secret not in text.getvalue() and "trace: " in text.getvalue()


def test_exit_codes() -> None:
    assert diagnosis("healthy", [], []).exit_code == 0
    unexplained = finding("http-error", 0.3, "http: 500")
    assert diagnosis("failing", [unexplained], ["trace: needs root"]).exit_code == 2
    assert diagnosis("failing", [unexplained], []).exit_code == 1


def test_refused_url_without_a_server_is_diagnosed_not_crashed(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # A machine where nothing runs, whatever runs on this one (a system Apache on :80...).
    nothing_runs = RecordedHost()
    result = diagnose(
        DiagnoseOptions(url=f"http://127.0.0.1:{port}/", timeout=2, host=nothing_runs)
    )
    assert result.status == "failing"
    assert result.findings[0].rule == "server-down"
    assert result.exit_code == 1


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "not a url", "http:///x"])
def test_bad_url_is_a_clear_error(url: str) -> None:
    with pytest.raises(PremortemError, match="not an http"):
        diagnose(DiagnoseOptions(url=url))


def test_since_parsing() -> None:
    assert parse_since("2h", now=10_000.0) == 10_000.0 - 7200
    assert parse_since("30m", now=10_000.0) == 10_000.0 - 1800
    with pytest.raises(PremortemError, match="neither a duration"):
        parse_since("yesterday-ish")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "premortem", "diagnose", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_cli_bad_inputs_are_clear_errors(tmp_path: Path) -> None:
    broken = tmp_path / "premortem.toml"
    broken.write_text("url = [unclosed")
    for args, message in (
        (("ftp://x/",), "not an http(s) URL"),
        (("http://127.0.0.1:1/", "--config", str(broken)), "is not valid TOML"),
        (("http://127.0.0.1:1/", "--since", "soon"), "neither a duration"),
        (("http://127.0.0.1:1/", "--since", "1h", "--baseline", str(tmp_path)), "not both"),
    ):
        proc = run_cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert message in " ".join(proc.stderr.split()), proc.stderr
        assert "Traceback" not in proc.stderr


class _BrokenHost(RecordedHost):
    """A machine whose process table cannot be read: by a bug, or by a real limit."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def processes(self) -> list[ProcessInfo]:
        raise self.error


def _refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/"


def test_a_bug_in_a_collector_is_an_internal_error_not_a_blind_spot() -> None:
    host = _BrokenHost(ZeroDivisionError("division by zero"))
    result = diagnose(DiagnoseOptions(url=_refused_url(), timeout=2, host=host))
    # Both collectors that list processes (server, database) hit the bug; each says so.
    server, database = result.internal_errors
    assert server.startswith("internal error in server (a bug in premortem, please report)")
    assert database.startswith("internal error in database (a bug")
    assert "ZeroDivisionError: division by zero" in server
    assert not any(item.startswith(("server:", "database:")) for item in result.could_not_see)
    assert result.to_dict()["internal_errors"] == [server, database]


def test_a_limit_of_what_can_be_seen_is_not_called_a_bug() -> None:
    host = _BrokenHost(PermissionError("access denied to /proc"))
    result = diagnose(DiagnoseOptions(url=_refused_url(), timeout=2, host=host))
    assert result.internal_errors == []
    assert "server: PermissionError: access denied to /proc" in result.could_not_see


def boom(*flags: str, debug_env: str = "") -> subprocess.CompletedProcess[str]:
    """A command with a bug, run through main()."""
    env = {k: v for k, v in os.environ.items() if k != "PREMORTEM_DEBUG"}
    if debug_env:
        env["PREMORTEM_DEBUG"] = debug_env
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from premortem.cli import main, cli\n"
            "@cli.command('boom')\ndef boom() -> None:\n    raise KeyError('x')\nmain()",
            *flags,
            "boom",
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def test_a_bug_reaching_main_is_one_line_and_exit_2() -> None:
    proc = boom()
    assert proc.returncode == 2
    assert "internal error (a bug in premortem, please report): KeyError" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "run with --debug" in proc.stderr


@pytest.mark.parametrize(("flags", "debug_env"), [(("--debug",), ""), ((), "1")])
def test_debug_shows_where_the_bug_is(flags: tuple[str, ...], debug_env: str) -> None:
    proc = boom(*flags, debug_env=debug_env)
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr and "line 4, in boom" in proc.stderr
    assert "internal error (a bug in premortem, please report): KeyError" in proc.stderr


def test_status_agrees_with_the_exit_code_when_errors_outlive_the_request() -> None:
    # Two seconds after a load: the URL answers 200 again, the minute before it logged
    # "Too many open files" from workers limited to 15 descriptors.
    from fixtures.problems.evidence_json import load_evidence

    case = Path(__file__).parent / "fixtures" / "problems" / "too-many-open-files" / "fire"
    evidence = load_evidence(
        (case / "burst-just-ended-limit-15" / "evidence.json").read_text(), Path("/")
    )
    assert evidence.http is not None
    result = diagnose_recorded(evidence, [evidence.http])
    assert result.findings[0].rule == "too-many-open-files"
    assert "worker 321 may open at most 15 files" in " ".join(result.findings[0].quoted)
    data = result.to_dict()
    assert (data["status"], data["exit_code"]) == ("degraded", 1)
    assert diagnosis("healthy", [], []).exit_code == 0
