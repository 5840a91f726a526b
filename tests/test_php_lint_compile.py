"""`check --php-lint`: compile errors that are not grammar errors, confirmed by the real
`php -l` of the installed PHP (#18)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from check_helpers import run_cli, run_rule
from premortem.check.context import CheckOptions
from premortem.php.lint import may_not_compile
from premortem.rules.php_syntax import PhpSyntax

pytestmark = pytest.mark.skipif(shutil.which("php") is None, reason="needs php-cli")

FILES = {
    "autoload.php": "<?php\nfunction __autoload($class) {}\n",
    "signature.php": (
        "<?php\nclass A { function f(int $x): int { return 1; } }\n"
        "class B extends A { function f(string $x): int { return 2; } }\n"
    ),
    # Fine: the parent is elsewhere (bound at run time), the signatures agree.
    "elsewhere.php": "<?php\nclass C extends Unknown { function f(string $x) {} }\n",
    "compatible.php": (
        "<?php\nclass D { function f(int $x): int { return 1; } }\n"
        "class E extends D { function f(int $x): int { return 2; } }\n"
    ),
}


def _tree(root: Path) -> Path:
    for name, text in FILES.items():
        (root / name).write_text(text)
    return root


def test_compile_errors_are_reported_with_php_lint_only(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    findings, _ = run_rule(PhpSyntax, root, CheckOptions(use_cache=False))
    assert findings == []  # the grammar accepts all four files
    findings, _ = run_rule(PhpSyntax, root, CheckOptions(use_cache=False, php_lint=True))
    assert sorted((f.file, f.line) for f in findings) == [
        ("autoload.php", 2),
        ("signature.php", 3),
    ]
    assert any("__autoload" in (f.message or "") for f in findings)
    assert any("must be compatible" in (f.message or "") for f in findings)
    # Only the files that may fail to compile cost a php process.
    candidates = [name for name in FILES if may_not_compile((root / name).read_bytes())]
    assert candidates == ["autoload.php", "signature.php", "compatible.php"]


def test_cli_flag(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    plain = run_cli("check", str(root), "--no-cache", env=env)
    linted = run_cli("check", str(root), "--no-cache", "--php-lint", env=env)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert linted.returncode == 1 and "must be compatible" in linted.stdout


def test_needles() -> None:
    assert may_not_compile(b"<?php function __AUTOLOAD($c) {}")
    assert not may_not_compile(b"<?php // __autoload is gone\nclass A {}")
    assert may_not_compile(b"<?php interface I {} class K implements \\ns\\I {}")
    assert not may_not_compile(b"<?php class K extends Base {} class L {}")
