"""missing-file over recorded lab evidence: the seed found from the trace and from the log."""

from __future__ import annotations

from pathlib import Path

from fixtures.diagnose.recorded import load_scenario, with_files, write_lines
from premortem.analyzers import missing_file
from premortem.collectors.http import HttpEvidence
from premortem.collectors.logs import php_messages_in_body

TYPO_LINE = "require_once ABSPATH . WPINC . '/class-wp-locale.phpp';"


def make_release(root: Path) -> Path:
    write_lines(root / "index.php", {2: "require __DIR__ . '/wp-config.php';"})
    write_lines(
        root / "wp-config.php",
        {2: "define('ABSPATH', __DIR__ . '/');", 3: "require_once ABSPATH . 'wp-settings.php';"},
    )
    write_lines(root / "wp-settings.php", {18: "define( 'WPINC', 'wp-includes' );", 156: TYPO_LINE})
    write_lines(root / "wp-includes" / "class-wp-locale.php", {2: "class WP_Locale {}"})
    return root


def test_seed_from_trace_alone_gives_line_and_edit(tmp_path: Path) -> None:
    root = make_release(tmp_path / "release")
    evidence = load_scenario("seed", root, logs=False)
    [finding] = missing_file.MissingFile().analyze(with_files(evidence))
    assert (finding.file, finding.line) == ("wp-settings.php", 156)
    assert "class-wp-locale.phpp" in finding.message
    assert finding.fix is not None and len(finding.fix.edits) == 1
    edit = finding.fix.edits[0]
    assert (edit.file, edit.line) == ("wp-settings.php", 156)
    assert edit.old.endswith("class-wp-locale.phpp'") and edit.new.endswith("class-wp-locale.php'")
    assert finding.quoted[0].startswith("trace: openat(")


def test_seed_logged_from_log_alone(tmp_path: Path) -> None:
    root = make_release(tmp_path / "release")
    evidence = load_scenario("seed-logged", root, trace=False)
    [finding] = missing_file.MissingFile().analyze(with_files(evidence))
    assert (finding.file, finding.line) == ("wp-settings.php", 156)
    assert finding.suggestion == "did you mean wp-includes/class-wp-locale.php?"
    assert finding.fix is not None
    assert finding.fix.edits[0].old == "class-wp-locale.phpp"
    assert all(q.startswith("log: ") and "Stack trace" not in q for q in finding.quoted)


def test_trace_and_log_agreeing_raise_confidence(tmp_path: Path) -> None:
    root = make_release(tmp_path / "release")
    both = missing_file.MissingFile().analyze(with_files(load_scenario("seed-logged", root)))
    trace_only = missing_file.MissingFile().analyze(
        with_files(load_scenario("seed-logged", root, logs=False))
    )
    assert both[0].confidence is not None and trace_only[0].confidence is not None
    assert both[0].confidence > trace_only[0].confidence
    assert both[0].sources == {"trace", "log"}


def test_healthy_trace_with_its_many_enoent_probes_does_not_fire(tmp_path: Path) -> None:
    root = make_release(tmp_path / "release")
    evidence = load_scenario("healthy", root)
    failed = [f for f in evidence.trace.failed] if evidence.trace else []
    assert len(failed) > 10  # .htaccess lookups, access() and stat probes
    assert missing_file.MissingFile().analyze(with_files(evidence)) == []


def test_error_shown_in_the_page_is_found(tmp_path: Path) -> None:
    # display_errors on, log silent: the page itself names file and line.
    body = (
        Path(__file__).parent / "fixtures/diagnose/http/display-missing-require.html"
    ).read_text()
    root = tmp_path / "wp"
    write_lines(root / "disp.php", {3: 'require_once __DIR__ . "/nope/missing-inc.php";'})
    evidence = load_scenario("healthy", root, trace=False, logs=False)
    evidence.http = HttpEvidence(
        url="u", status=500, body=body.replace("/tmp/diag-scratch/wp", str(root)), php_messages=[]
    )
    evidence.http.php_messages = php_messages_in_body(evidence.http.body)
    [finding] = missing_file.MissingFile().analyze(with_files(evidence))
    assert (finding.file, finding.line) == ("disp.php", 3)
    assert finding.quoted[0].startswith("http: page shows PHP ")
