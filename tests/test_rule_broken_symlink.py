"""broken-symlink: dangling links and loops are warnings, links out of the tree info."""

from __future__ import annotations

import os
from pathlib import Path

from check_helpers import run_rule
from premortem.rules.broken_symlink import BrokenSymlink


def test_fires_on_dangling_loop_and_escape(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "wp-config.php").symlink_to("../shared/wp-config.php")
    (site / "self").symlink_to("self")
    (site / "sub").mkdir()
    (site / "sub" / "up").symlink_to("..")
    (site / "parent").symlink_to("..")
    outside = tmp_path / "outside.php"
    outside.write_text("<?php\n")
    (site / "outside.php").symlink_to(outside)
    findings, _ = run_rule(BrokenSymlink, site)
    by_file = {f.file: (f.severity, f.message) for f in findings}
    assert by_file["wp-config.php"] == ("warning", "dangling symlink -> ../shared/wp-config.php")
    assert by_file["self"][0] == "warning" and "dangling" not in by_file["self"][1]
    assert by_file["sub/up"] == ("warning", "symlink loop -> .. (not followed)")
    assert by_file["outside.php"][0] == "info"
    assert by_file["parent"] == ("info", "symlink leaves the tree -> ..")
    assert len(findings) == 5


def test_look_alike_links_inside_the_tree_do_not_fire(tmp_path: Path) -> None:
    (tmp_path / "releases" / "1").mkdir(parents=True)
    (tmp_path / "releases" / "1" / "index.php").write_text("<?php\n")
    (tmp_path / "current").symlink_to("releases/1")
    (tmp_path / "index.php").symlink_to(os.path.join("releases", "1", "index.php"))
    findings, _ = run_rule(BrokenSymlink, tmp_path)
    assert findings == []
