"""exposed-source: backups, mistyped extensions, secrets and VCS metadata."""

from __future__ import annotations

from pathlib import Path

import pytest

from check_helpers import run_rule
from premortem.rules.exposed_source import ExposedSource


@pytest.mark.parametrize(
    "name",
    ["class-wp-locale.phpp", "index.php.bak", "settings.php.orig", ".index.php.swp", ".env"],
)
def test_each_kind(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("<?php\n")
    findings, _ = run_rule(ExposedSource, tmp_path)
    assert [f.file for f in findings] == [name]


def test_git_directory_is_reported_not_walked(tmp_path: Path) -> None:
    (tmp_path / ".git" / "objects").mkdir(parents=True)
    (tmp_path / ".git" / "config").write_text("[core]\n")
    findings, result = run_rule(ExposedSource, tmp_path)
    assert [f.file for f in findings] == [".git"]
    assert result.stats["files"] == 0
