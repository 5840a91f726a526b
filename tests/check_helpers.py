"""Helpers for the check tests: run one rule over a fixture tree."""

from __future__ import annotations

import subprocess
from pathlib import Path

from premortem.check.context import CheckOptions
from premortem.check.runner import CheckResult, run_check
from premortem.model import Finding
from premortem.rules.base import Rule

PROBLEMS = Path(__file__).parent / "fixtures" / "problems"


def case_tree(code: str, kind: str, case: str) -> Path:
    """The release tree of one data case (tests/fixtures/problems/<code>/<kind>/<case>/tree)."""
    return PROBLEMS / code / kind / case / "tree"


def run_rule(
    rule: type[Rule], root: Path, options: CheckOptions | None = None
) -> tuple[list[Finding], CheckResult]:
    result = run_check(root, options or CheckOptions(use_cache=False), rules=[rule])
    return [f for f in result.findings if f.rule == rule.code], result


WORDPRESS = Path("/usr/share/wordpress")


def make_seed_release(dest: Path) -> Path:
    """Copy Debian's WordPress to `dest` with the seed typo on wp-settings.php line 156.

    Symlinks are copied as files (Debian's relative links into /usr/share/php would
    dangle in a copy), as a release build does.
    """
    import shutil

    shutil.copytree(WORDPRESS, dest)
    settings = dest / "wp-settings.php"
    lines = settings.read_text().splitlines(keepends=True)
    assert "class-wp-locale.php'" in lines[155]
    lines[155] = lines[155].replace("class-wp-locale.php'", "class-wp-locale.phpp'")
    settings.write_text("".join(lines))
    return dest


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "premortem", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )
