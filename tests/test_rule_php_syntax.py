"""php-syntax: PHP's own parser judges; when it cannot (its process failed), tree-sitter's
complaints are confirmed by `php -l` and its false alarms dropped."""

from __future__ import annotations

import pytest

from check_helpers import case_tree, run_rule
from premortem.php import parsing
from premortem.rules.php_syntax import PhpSyntax, php_lint

FIRE = case_tree("php-syntax", "fire", "unexpected-brace")
FALSE_ALARM = case_tree("php-syntax", "fp", "tree-sitter-false-alarm")


def test_finding_quotes_the_line_php_refused() -> None:
    # File, line and message: tests/fixtures/problems/php-syntax/fire/.
    findings, _ = run_rule(PhpSyntax, FIRE)
    assert [f.source_line for f in findings] == ["}"]


def test_tree_sitter_false_alarm_is_cleared_by_php_lint(monkeypatch: pytest.MonkeyPatch) -> None:
    # As when PHP's outline process cannot run: tree-sitter parses and php -l confirms.
    monkeypatch.setattr(parsing, "outliner_of_process", lambda: None)
    findings, result = run_rule(PhpSyntax, FALSE_ALARM)
    assert findings == []
    # The look-alike really is flagged by tree-sitter: the rule had to ask php -l.
    assert result.stats["syntax_flagged_by_tree_sitter"] == 1
    assert result.stats["syntax_cleared_by_php_lint"] == 1


def test_php_lint_helper() -> None:
    ok = php_lint(str(FALSE_ALARM / "greet.php"))
    assert ok == (True, None, None)
    bad = php_lint(str(FIRE / "greet.php"))
    assert bad is not None and bad[0] is False and bad[2] == 4
