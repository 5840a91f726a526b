"""The changes collector: --since, --baseline, deploy time from the current link, php -l."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from premortem.collectors.changes import collect_changes


def tree(root: Path) -> Path:
    (root / "wp-includes").mkdir(parents=True)
    (root / "index.php").write_text("<?php\necho 1;\n")
    (root / "wp-includes" / "a.php").write_text("<?php\nfunction a() {}\n")
    old = time.time() - 3600
    for path in root.rglob("*"):
        os.utime(path, (old, old))
    return root


def test_since_lists_new_files_and_lints_them(tmp_path: Path) -> None:
    root = tree(tmp_path / "site")
    (root / "broken.php").write_text("<?php\necho 'x'\necho 'y';\n")
    changes = collect_changes(str(root), since=time.time() - 60)
    assert [c.path for c in changes.changed] == ["broken.php"]
    [lint] = changes.lint
    assert not lint.ok and lint.line == 3 and "syntax error" in lint.message


def test_baseline_diff(tmp_path: Path) -> None:
    old = tree(tmp_path / "old")
    new = tmp_path / "new"
    shutil.copytree(old, new)
    (new / "wp-includes" / "a.php").write_text("<?php\nfunction a() { return 1; }\n")
    (new / "index.php").unlink()
    (new / "added.txt").write_text("x")
    changes = collect_changes(str(new), baseline=str(old))
    assert sorted((c.kind, c.path) for c in changes.changed) == [
        ("added", "added.txt"),
        ("modified", "wp-includes/a.php"),
        ("removed", "index.php"),
    ]
    assert all(r.ok for r in changes.lint)


def test_default_is_since_the_current_link_switch(tmp_path: Path) -> None:
    release = tree(tmp_path / "releases" / "r1")
    switched = time.time() - 600
    (release / "late.php").write_text("<?php\n")
    os.symlink(release, tmp_path / "current")
    os.utime(tmp_path / "current", (switched, switched), follow_symlinks=False)
    changes = collect_changes(str(tmp_path / "current"))
    assert "last deploy" in changes.basis
    assert [c.path for c in changes.changed] == ["late.php"]
