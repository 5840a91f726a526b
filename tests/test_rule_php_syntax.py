"""php-syntax: parse errors confirmed by `php -l`; tree-sitter-only complaints dropped."""

from __future__ import annotations

from check_helpers import FIXTURES, run_rule
from premortem.rules.php_syntax import PhpSyntax, php_lint


def test_fires_with_php_lint_message_and_line() -> None:
    findings, result = run_rule(PhpSyntax, FIXTURES / "php-syntax" / "fire")
    assert len(findings) == 1
    finding = findings[0]
    assert (finding.file, finding.line, finding.severity) == ("greet.php", 4, "error")
    assert 'unexpected token "}"' in finding.message
    assert finding.source_line == "}"
    assert result.stats["syntax_flagged_by_tree_sitter"] == 1


def test_tree_sitter_false_alarm_is_cleared_by_php_lint() -> None:
    findings, result = run_rule(PhpSyntax, FIXTURES / "php-syntax" / "fp")
    assert findings == []
    # The look-alike really is flagged by tree-sitter: the rule had to ask php -l.
    assert result.stats["syntax_flagged_by_tree_sitter"] == 1
    assert result.stats["syntax_cleared_by_php_lint"] == 1


def test_php_lint_helper() -> None:
    ok = php_lint(str(FIXTURES / "php-syntax" / "fp" / "greet.php"))
    assert ok == (True, None, None)
    bad = php_lint(str(FIXTURES / "php-syntax" / "fire" / "greet.php"))
    assert bad is not None and bad[0] is False and bad[2] == 4
