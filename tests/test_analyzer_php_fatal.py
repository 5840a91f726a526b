"""php-fatal over recorded error-log lines (lab syntax scenario, scratch Apache fatals)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.diagnose.recorded import load_logs, load_scenario, with_files
from premortem.analyzers import php_fatal
from premortem.collectors import EvidenceSet
from premortem.collectors.changes import ChangesEvidence, LintResult
from premortem.collectors.http import HttpEvidence
from premortem.collectors.logs import php_messages_in_body

SCRATCH_LOG = Path(__file__).parent / "fixtures/diagnose/logs/php-errors.log"


def scratch_line(marker: str) -> str:
    return next(x for x in SCRATCH_LOG.read_text().splitlines() if marker in x)


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        ("undefined function", "call to undefined function mb_fake_function_x()"),
        ("Missing_Class_Z", "class Missing_Class_Z not found"),
        ("Allowed memory size", "PHP ran out of memory (memory_limit 8 MB)"),
    ],
)
def test_fatal_kinds(marker: str, expected: str) -> None:
    evidence = EvidenceSet(url="http://127.0.0.1/", logs=load_logs(scratch_line(marker)))
    [finding] = php_fatal.PhpFatal().analyze(with_files(evidence))
    assert finding.message.startswith(expected)


def test_undefined_function_names_the_debian_package() -> None:
    evidence = EvidenceSet(url="http://127.0.0.1/", logs=load_logs(scratch_line("undefined")))
    [finding] = php_fatal.PhpFatal().analyze(with_files(evidence))
    assert finding.fix is not None
    assert finding.fix.commands[0] == "apt-get install php-mbstring"
    assert php_fatal.package_for_function("mysqli_connect") == "php-mysql"
    assert php_fatal.package_for_function("my_own_helper") is None


def test_lint_of_a_changed_file_fires_when_the_site_fails(tmp_path: Path) -> None:
    changes = ChangesEvidence(root=str(tmp_path))
    changes.lint = [
        LintResult(
            str(tmp_path / "a.php"),
            False,
            f'Parse error: syntax error, unexpected token "echo" in {tmp_path}/a.php on line 3',
            3,
        )
    ]
    evidence = EvidenceSet(
        url="u", http=HttpEvidence(url="u", status=500), changes=changes, docroot=str(tmp_path)
    )
    [finding] = php_fatal.PhpFatal().analyze(with_files(evidence))
    assert (finding.file, finding.line) == ("a.php", 3)
    assert finding.quoted[0].startswith("changes: php -l")


def test_missing_include_and_warnings_are_not_php_fatal(tmp_path: Path) -> None:
    # "Failed opening required" belongs to missing-file / permission-denied.
    assert php_fatal.PhpFatal().analyze(with_files(load_scenario("seed-logged", tmp_path))) == []
    warning = scratch_line("Constant ABSPATH already defined")
    evidence = EvidenceSet(url="u", logs=load_logs(warning))
    assert php_fatal.PhpFatal().analyze(with_files(evidence)) == []


def test_fatal_of_an_older_request_does_not_fire() -> None:
    logs = load_logs(scratch_line("undefined function"), this_request=False)
    assert php_fatal.PhpFatal().analyze(with_files(EvidenceSet(url="u", logs=logs))) == []


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("display-parse-error.html", "PHP syntax error in disp2.php line 4"),
        ("display-undefined-function.html", "call to undefined function mb_fake_function_x()"),
    ],
)
def test_fatal_shown_in_the_page(page: str, expected: str) -> None:
    body = (Path(__file__).parent / "fixtures/diagnose/http" / page).read_text()
    http = HttpEvidence(url="u", status=500, body=body, php_messages=php_messages_in_body(body))
    evidence = EvidenceSet(url="u", http=http, docroot="/tmp/diag-scratch/wp")
    [finding] = php_fatal.PhpFatal().analyze(with_files(evidence))
    assert finding.message.startswith(expected)
    assert finding.quoted[0].startswith("http: page shows PHP ")


def test_page_without_php_errors_does_not_fire() -> None:
    body = "<html><b>Warning</b>: this is an article about PHP</html>"
    http = HttpEvidence(url="u", status=200, body=body, php_messages=php_messages_in_body(body))
    assert php_fatal.PhpFatal().analyze(with_files(EvidenceSet(url="u", http=http))) == []


def test_broken_changed_file_is_a_warning_when_the_url_works(tmp_path: Path) -> None:
    changes = ChangesEvidence(root=str(tmp_path))
    changes.lint = [LintResult(str(tmp_path / "b.php"), False, "Parse error: x on line 2", 2)]
    evidence = EvidenceSet(
        url="u",
        http=HttpEvidence(url="u", status=200, content_type="text/html", body="<html></html>"),
        changes=changes,
        docroot=str(tmp_path),
    )
    [finding] = php_fatal.PhpFatal().analyze(with_files(evidence))
    assert finding.severity == "warning"
