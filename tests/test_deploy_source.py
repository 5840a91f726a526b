"""deploy's SRC as root (ops/deploy/source.py): opened component by component, and nothing
published that someone who could redirect the path to it could not read already."""

from __future__ import annotations

import grp
import os
import pwd
from pathlib import Path

import pytest

from premortem.errors import PremortemError
from premortem.ops.deploy.copy import copy_release
from premortem.ops.deploy.source import open_source

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the rules apply to root")
NOBODY = pwd.getpwnam("nobody")
STAFF = grp.getgrnam("staff").gr_gid


def _tree(root: Path, files: dict[str, tuple[int, int, int]]) -> Path:
    """root/site holding files name -> (mode, uid, gid)."""
    site = root / "site"
    site.mkdir(parents=True)
    for name, (mode, uid, gid) in files.items():
        path = site / name
        path.write_text(f"<?php // {name}\n")
        os.chown(path, uid, gid)
        os.chmod(path, mode)
    return site


def _copy(src: Path, tmp_path: Path) -> list[str]:
    dest = tmp_path / "release"
    copy_release(src, dest, link_from=None)
    return sorted(p.name for p in dest.iterdir())


def _assert_same_dir(fd: int, path: Path) -> None:
    opened, real = os.fstat(fd), os.stat(path)
    assert (opened.st_dev, opened.st_ino) == (real.st_dev, real.st_ino)


def test_a_path_only_root_controls_copies_even_private_files(tmp_path: Path) -> None:
    site = _tree(tmp_path / "srv", {"index.php": (0o644, 0, 0), "private.php": (0o600, 0, 0)})
    source = open_source(site)
    try:
        assert not source.controllers
        _assert_same_dir(source.fd, site)
    finally:
        source.close()
    assert _copy(site, tmp_path) == ["index.php", "private.php"]


def test_a_directory_another_user_owns_on_the_way_limits_what_is_published(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, NOBODY.pw_uid, NOBODY.pw_gid)
    site = _tree(
        home,
        {
            "index.php": (0o644, 0, 0),
            "theirs.php": (0o600, NOBODY.pw_uid, NOBODY.pw_gid),
            "their-group.php": (0o640, 0, NOBODY.pw_gid),
        },
    )
    assert _copy(site, tmp_path) == ["index.php", "their-group.php", "theirs.php"]
    (site / "shadow.php").write_text("root's alone\n")
    os.chmod(site / "shadow.php", 0o600)
    with pytest.raises(PremortemError) as refused:
        copy_release(site, tmp_path / "release2", link_from=None)
    message = str(refused.value)
    assert f"{site}/shadow.php is not readable by uid {NOBODY.pw_uid} (nobody)" in message
    assert f"who can change {home}" in message


def test_a_symlink_on_the_way_is_followed_and_its_owner_counts(tmp_path: Path) -> None:
    # What a swap leaves: the user's directory now leads to root's private files.
    secret = _tree(tmp_path / "root-only", {"id_rsa.php": (0o600, 0, 0)})
    os.chmod(secret.parent, 0o700)
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, NOBODY.pw_uid, NOBODY.pw_gid)
    (home / "site").symlink_to(secret)
    os.lchown(home / "site", NOBODY.pw_uid, NOBODY.pw_gid)
    source = open_source(home / "site")
    try:
        _assert_same_dir(source.fd, secret)
        assert set(source.controllers.users) == {NOBODY.pw_uid}
    finally:
        source.close()
    with pytest.raises(PremortemError, match=r"id_rsa\.php is not readable by uid"):
        copy_release(home / "site", tmp_path / "release", link_from=None)


def test_group_and_world_writable_directories_make_a_group_and_everyone_controllers(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "sites"
    shared.mkdir()
    os.chown(shared, 0, STAFF)
    os.chmod(shared, 0o2775)
    site = _tree(shared, {"a.php": (0o640, 0, STAFF)})
    assert _copy(site, tmp_path) == ["a.php"]
    os.chown(site / "a.php", 0, 0)
    with pytest.raises(PremortemError, match=r"a\.php is not readable by group staff"):
        copy_release(site, tmp_path / "release2", link_from=None)
    os.chmod(shared, 0o777)
    with pytest.raises(PremortemError, match=r"a\.php is not readable by everyone"):
        copy_release(site, tmp_path / "release3", link_from=None)
    # A sticky bit (as on /tmp): others cannot rename root's entries there.
    os.chmod(shared, 0o1777)
    (tmp_path / "4").mkdir()
    assert _copy(site, tmp_path / "4") == ["a.php"]


def test_relative_links_dot_dot_and_loops(tmp_path: Path) -> None:
    site = _tree(tmp_path / "a" / "b", {"index.php": (0o644, 0, 0)})
    (tmp_path / "up").symlink_to("a/b/../b/site")
    (tmp_path / "a" / "via").symlink_to("../up")
    source = open_source(tmp_path / "a" / "via")
    try:
        _assert_same_dir(source.fd, site)
    finally:
        source.close()
    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    with pytest.raises(OSError, match="Too many levels of symbolic links"):
        open_source(tmp_path / "loop1")
