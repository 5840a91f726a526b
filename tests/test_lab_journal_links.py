"""A fault injected into one release must not reach releases that share its inodes.

deploy hard-links unchanged files between releases; a fault written in place would
break the previous release too, and rolling back could not help.
"""

from __future__ import annotations

import os
from pathlib import Path

from premortem.ops.lab.journal import FaultJournal


def _two_releases(tmp_path: Path) -> tuple[Path, Path]:
    old = tmp_path / "releases" / "old" / "wp-settings.php"
    new = tmp_path / "releases" / "new" / "wp-settings.php"
    old.parent.mkdir(parents=True)
    new.parent.mkdir(parents=True)
    old.write_bytes(b"<?php require 'class-wp-locale.php';\n")
    os.link(old, new)
    return old, new


def _journal(tmp_path: Path) -> FaultJournal:
    journal = FaultJournal.load(tmp_path / "state" / "fault.json", tmp_path / "state" / "b")
    journal.begin("test")
    return journal


def test_edit_reaches_only_the_broken_release_and_repair_restores_it(tmp_path: Path) -> None:
    old, new = _two_releases(tmp_path)
    original = old.read_bytes()
    journal = _journal(tmp_path)
    journal.replace_text(new, "locale.php'", "locale.phpp'")
    assert b"phpp" in new.read_bytes()
    assert old.read_bytes() == original
    journal.restore_paths()
    assert new.read_bytes() == original


def test_chmod_reaches_only_the_broken_release(tmp_path: Path) -> None:
    old, new = _two_releases(tmp_path)
    journal = _journal(tmp_path)
    journal.chmod(new, 0o000)
    assert new.stat().st_mode & 0o777 == 0
    assert old.stat().st_mode & 0o777 == 0o644 & ~_umask()
    journal.restore_paths()
    assert new.stat().st_mode & 0o777 == old.stat().st_mode & 0o777


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
