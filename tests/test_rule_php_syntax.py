"""php-syntax: parse errors confirmed by `php -l`; tree-sitter-only complaints dropped."""

from __future__ import annotations

from check_helpers import case_tree, run_rule
from premortem.rules.php_syntax import PhpSyntax, php_lint

FIRE = case_tree("php-syntax", "fire", "unexpected-brace")
FALSE_ALARM = case_tree("php-syntax", "fp", "tree-sitter-false-alarm")


def test_finding_quotes_the_line_tree_sitter_flagged() -> None:
    # File, line and message: tests/fixtures/problems/php-syntax/fire/.
    findings, result = run_rule(PhpSyntax, FIRE)
    assert [f.source_line for f in findings] == ["}"]
    assert result.stats["syntax_flagged_by_tree_sitter"] == 1


def test_tree_sitter_false_alarm_is_cleared_by_php_lint() -> None:
    _, result = run_rule(PhpSyntax, FALSE_ALARM)
    # The look-alike really is flagged by tree-sitter: the rule had to ask php -l.
    assert result.stats["syntax_flagged_by_tree_sitter"] == 1
    assert result.stats["syntax_cleared_by_php_lint"] == 1


def test_php_lint_helper() -> None:
    ok = php_lint(str(FALSE_ALARM / "greet.php"))
    assert ok == (True, None, None)
    bad = php_lint(str(FIRE / "greet.php"))
    assert bad is not None and bad[0] is False and bad[2] == 4
