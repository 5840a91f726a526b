"""unreadable: what www-data cannot read or traverse, by mode and owner."""

from __future__ import annotations

import os
from pathlib import Path

from check_helpers import run_rule
from premortem.check.context import CheckOptions
from premortem.rules.unreadable import UnreadableFile


def _site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    (site / "lib").mkdir(parents=True)
    (site / "index.php").write_text("<?php\nrequire __DIR__ . '/lib/boot.php';\n")
    (site / "lib" / "boot.php").write_text("<?php\n")
    (site / "notes.txt").write_text("notes\n")
    # pytest's tmp_path is 0700: the rule looks only inside the tree, not at its parents.
    return site


def test_fires_on_unreadable_php_file_and_needed_directory(tmp_path: Path) -> None:
    site = _site(tmp_path)
    os.chmod(site / "index.php", 0o600)
    os.chmod(site / "lib", 0o700)
    findings, _ = run_rule(UnreadableFile, site)
    by_file = {f.file: f for f in findings}
    assert set(by_file) == {"index.php", "lib"}
    assert by_file["index.php"].severity == "error"
    assert "mode 0600, owner root:root" in by_file["index.php"].message
    assert by_file["lib"].severity == "error"
    assert "includes 1 file(s) from it, e.g. lib/boot.php" in by_file["lib"].message


def test_closed_directory_nobody_includes_is_a_warning(tmp_path: Path) -> None:
    site = _site(tmp_path)
    (site / "disabled-plugin").mkdir()
    os.chmod(site / "disabled-plugin", 0o700)
    os.chmod(site / "notes.txt", 0o600)
    findings, _ = run_rule(UnreadableFile, site)
    assert {(f.file, f.severity) for f in findings} == {
        ("disabled-plugin", "warning"),
        ("notes.txt", "warning"),
    }


def test_look_alike_group_readable_for_www_data(tmp_path: Path) -> None:
    site = _site(tmp_path)
    os.chown(site / "index.php", 0, 33)  # root:www-data 0640, like a shared wp-config.php
    os.chmod(site / "index.php", 0o640)
    findings, _ = run_rule(UnreadableFile, site)
    assert findings == []
    findings, _ = run_rule(UnreadableFile, site, CheckOptions(use_cache=False, user="nobody"))
    assert [f.file for f in findings] == ["index.php"]
