"""A lab release is a complete copy of Debian's WordPress (its symlinks dereferenced)."""

from __future__ import annotations

import os
from pathlib import Path

from premortem.ops.lab.layout import LabPaths
from premortem.ops.lab.wordpress import WORDPRESS_SOURCE, create_release


def test_release_holds_every_file_of_wordpress(tmp_path: Path) -> None:
    release = create_release(LabPaths(tmp_path), "r1")
    expected = set()
    for dirpath, _dirs, files in os.walk(WORDPRESS_SOURCE):
        for name in files:
            expected.add(os.path.relpath(os.path.join(dirpath, name), WORDPRESS_SOURCE))
    copied = set()
    for dirpath, _dirs, files in os.walk(release):
        for name in files:
            copied.add(os.path.relpath(os.path.join(dirpath, name), release))
    # wp-config.php is the lab's own (a link into shared/), never Debian's.
    missing = expected - copied - {"wp-config.php"}
    assert not missing, sorted(missing)[:10]
    # Debian links wp-includes/ID3 into /usr/share/php/getID3; the release has real files.
    getid3 = release / "wp-includes" / "ID3" / "getid3.php"
    assert getid3.is_file() and not getid3.is_symlink()
