"""Copying SRC into a release: hard links for unchanged files, modes, shared links, bad SRC."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from premortem.errors import PremortemError
from premortem.ops.deploy.copy import check_source, copy_release
from premortem.ops.deploy.shared import link_shared


def _src(root: Path) -> Path:
    (root / "wp-includes").mkdir(parents=True)
    (root / "index.php").write_text("<?php require 'wp-blog-header.php';\n")
    (root / "wp-includes" / "version.php").write_text("<?php $wp_version = '6.1';\n")
    (root / "wp-config.php").write_text("<?php // shipped by mistake\n")
    (root / "wp-content" / "uploads").mkdir(parents=True)
    (root / "wp-content" / "uploads" / "shipped.jpg").write_bytes(b"jpg")
    (root / "bin").mkdir()
    (root / "bin" / "tool").write_text("#!/bin/sh\n")
    os.chmod(root / "bin" / "tool", 0o700)
    os.chmod(root / "index.php", 0o600)
    os.symlink("index.php", root / "alias.php")
    return root


def test_copy_links_unchanged_files_from_current(tmp_path: Path) -> None:
    src = _src(tmp_path / "src")
    first = tmp_path / "r1"
    stats1 = copy_release(src, first, link_from=None)
    assert stats1.linked == 0 and stats1.copied == 5 and stats1.symlinks == 1
    (src / "wp-includes" / "version.php").write_text("<?php $wp_version = '6.2';\n")
    second = tmp_path / "r2"
    stats2 = copy_release(src, second, link_from=first)
    assert stats2.copied == 1 and stats2.linked == 4
    same = (second / "index.php").stat()
    assert same.st_ino == (first / "index.php").stat().st_ino
    assert (second / "wp-includes" / "version.php").stat().st_ino != (
        first / "wp-includes" / "version.php"
    ).stat().st_ino
    assert "6.2" in (second / "wp-includes" / "version.php").read_text()
    assert "6.1" in (first / "wp-includes" / "version.php").read_text()


def test_modes_are_readable_by_the_web_user_and_symlinks_kept(tmp_path: Path) -> None:
    src = _src(tmp_path / "src")
    dest = tmp_path / "r"
    copy_release(src, dest, link_from=None)
    assert stat.S_IMODE((dest / "index.php").stat().st_mode) == 0o644
    assert stat.S_IMODE((dest / "bin" / "tool").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "wp-includes").stat().st_mode) == 0o755
    assert os.readlink(dest / "alias.php") == "index.php"


def test_shared_paths_replace_shipped_copies(tmp_path: Path) -> None:
    src = _src(tmp_path / "src")
    shared = tmp_path / "site" / "shared"
    (shared / "wp-content" / "uploads").mkdir(parents=True)
    (shared / "wp-config.php").write_text("<?php // the real one\n")
    release = tmp_path / "site" / "releases" / "r"
    release.parent.mkdir(parents=True)
    paths = ["wp-config.php", "wp-content/uploads"]
    copy_release(src, release, link_from=None, skip=set(paths))
    result = link_shared(release, src, shared, paths)
    assert result.linked == paths and not result.seeded
    assert (release / "wp-config.php").is_symlink()
    assert "the real one" in (release / "wp-config.php").read_text()
    assert (release / "wp-content" / "uploads").is_symlink()
    assert not (shared / "wp-content" / "uploads" / "shipped.jpg").exists()
    # relative links survive moving the release directory (partial -> final name)
    os.rename(release, release.with_name("final"))
    assert "the real one" in (release.with_name("final") / "wp-config.php").read_text()


def test_missing_shared_is_seeded_from_src_once(tmp_path: Path) -> None:
    src = _src(tmp_path / "src")
    shared = tmp_path / "shared"
    shared.mkdir()
    release = tmp_path / "r"
    copy_release(src, release, link_from=None, skip={"wp-config.php", "robots.txt"})
    result = link_shared(release, src, shared, ["wp-config.php", "robots.txt"])
    assert result.seeded == ["wp-config.php"]
    assert result.missing == ["robots.txt"]
    assert (shared / "wp-config.php").read_text() == "<?php // shipped by mistake\n"
    assert not os.path.lexists(release / "robots.txt")


def test_shared_path_escaping_the_release_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PremortemError, match="relative path inside"):
        link_shared(tmp_path, tmp_path, tmp_path, ["../etc"])


def test_missing_source(tmp_path: Path) -> None:
    with pytest.raises(PremortemError, match="does not exist"):
        check_source(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(PremortemError, match="not a directory"):
        check_source(tmp_path / "file")


UNREADABLE = """
import os, sys
from pathlib import Path
from premortem.errors import PremortemError
from premortem.ops.deploy.copy import check_source, copy_release
os.setgid(65534); os.setuid(65534)
try:
    if sys.argv[3] == "check":
        check_source(Path(sys.argv[1]))
    else:
        copy_release(Path(sys.argv[1]), Path(sys.argv[2]), link_from=None)
except PremortemError as exc:
    print(exc)
    sys.exit(2)
"""


def test_unreadable_source_is_a_clear_error() -> None:
    # Under /tmp itself: pytest's tmp_path sits in a 0700 dir that nobody cannot traverse.
    base = Path(tempfile.mkdtemp(prefix="premortem-copy-test-", dir="/tmp"))
    os.chmod(base, 0o777)
    try:
        _check_unreadable(base)
    finally:
        shutil.rmtree(base)


def _check_unreadable(base: Path) -> None:
    src = _src(base / "src")
    os.chmod(src, 0o755)
    for directory in (src / "wp-includes", src / "wp-content", src / "bin"):
        os.chmod(directory, 0o755)
    os.chmod(src / "wp-includes", 0o700)  # nobody cannot list it
    run = [sys.executable, "-c", UNREADABLE, str(src), str(base / "dest")]
    proc = subprocess.run([*run, "copy"], capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "cannot read" in proc.stdout and "Permission denied" in proc.stdout
    os.chmod(src, 0o700)
    proc = subprocess.run([*run, "check"], capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "not readable" in proc.stdout


def _owned(path: Path) -> tuple[int, int, int]:
    st = os.lstat(path)
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_seeding_shared_keeps_owner_group_and_mode(tmp_path: Path) -> None:
    # Issue #11: a root:www-data 0640 wp-config.php became root:root (unreadable by the
    # web server) and www-data's uploads became root's.
    import grp
    import pwd

    web_uid, web_gid = pwd.getpwnam("www-data").pw_uid, grp.getgrnam("www-data").gr_gid
    src = _src(tmp_path / "src")
    os.chown(src / "wp-config.php", 0, web_gid)
    os.chmod(src / "wp-config.php", 0o640)
    uploads = src / "wp-content" / "uploads"
    (uploads / "2026").mkdir()
    (uploads / "2026" / "cat.jpg").write_bytes(b"jpg")
    for path in (uploads, uploads / "2026", uploads / "2026" / "cat.jpg", uploads / "shipped.jpg"):
        os.chown(path, web_uid, web_gid)
    os.chmod(uploads, 0o2775)
    os.chmod(uploads / "2026" / "cat.jpg", 0o664)
    before = {
        rel: _owned(src / rel)
        for rel in (
            "wp-config.php",
            "wp-content/uploads",
            "wp-content/uploads/2026",
            "wp-content/uploads/2026/cat.jpg",
            "wp-content/uploads/shipped.jpg",
        )
    }
    shared = tmp_path / "shared"
    shared.mkdir()
    release = tmp_path / "r"
    paths = ["wp-config.php", "wp-content/uploads"]
    copy_release(src, release, link_from=None, skip=set(paths))
    result = link_shared(release, src, shared, paths)
    assert result.seeded == paths
    assert {rel: _owned(shared / rel) for rel in before} == before
    assert not [p for p in shared.rglob(".*") if p.name.endswith(".seeding")]
