"""premortem runs as root in site trees other users (www-data) can write to: a symlink they
plant must not redirect what premortem writes. The symlinks here are owned by `nobody`, in
directories `nobody` can write to, as an attacker's would be."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from fix_helpers import config_for, seed_site
from premortem.errors import PremortemError
from premortem.model import Edit, Finding, Fix
from premortem.ops.deploy.safefs import atomic_write, open_dir_nofollow
from premortem.ops.remedy import plan_fix
from premortem.ops.remedy.apply import apply_plan
from premortem.store import open_store

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="plants files as another user")

NOBODY = pwd.getpwnam("nobody")


def _owned_by_nobody(path: Path) -> None:
    os.lchown(path, NOBODY.pw_uid, NOBODY.pw_gid)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A site tree whose uploads directory belongs to the unprivileged user."""
    root = Path(os.path.realpath(tmp_path)) / "site"
    (root / "wp-content" / "uploads").mkdir(parents=True)
    _owned_by_nobody(root / "wp-content" / "uploads")
    (root / "wp-config.php").write_text("<?php\n")
    return root


def test_fix_write_goes_where_planned(site: Path) -> None:
    target = site / "wp-content" / "uploads" / "x.php"
    target.write_text("old")
    atomic_write(target, b"new", mode=0o640, uid=NOBODY.pw_uid, gid=NOBODY.pw_gid)
    assert target.read_bytes() == b"new"
    st = target.stat()
    assert (st.st_mode & 0o777, st.st_uid) == (0o640, NOBODY.pw_uid)
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.php"], "no temp file left"


def test_directory_swapped_for_a_symlink_after_planning_is_refused(
    site: Path, tmp_path: Path
) -> None:
    """The plan saw wp-content/uploads/cache/x.php; by the write, `cache` (in a directory
    nobody owns) is a symlink to a root-owned directory outside the site."""
    outside = tmp_path / "etc-like"
    outside.mkdir()
    uploads = site / "wp-content" / "uploads"
    (uploads / "cache").symlink_to(outside)
    _owned_by_nobody(uploads / "cache")
    with pytest.raises(PremortemError, match="symlink"):
        atomic_write(uploads / "cache" / "x.php", b"<?php evil", mode=0o644, uid=0, gid=0)
    assert list(outside.iterdir()) == [], "nothing written outside the site"


def test_file_replaced_by_a_symlink_is_replaced_not_followed(site: Path, tmp_path: Path) -> None:
    victim = tmp_path / "shadow-like"
    victim.write_text("root's secret")
    planted = site / "wp-content" / "uploads" / "x.php"
    planted.symlink_to(victim)
    _owned_by_nobody(planted)
    atomic_write(planted, b"fixed", mode=0o644, uid=0, gid=0)
    assert victim.read_text() == "root's secret"
    assert not planted.is_symlink() and planted.read_bytes() == b"fixed"


def test_open_dir_nofollow_refuses_any_symlinked_component(site: Path, tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(site)
    with pytest.raises(PremortemError):
        open_dir_nofollow(tmp_path / "link" / "wp-content")
    os.close(open_dir_nofollow(site / "wp-content"))


def test_store_in_a_directory_the_web_user_owns_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    _owned_by_nobody(state)
    victim = tmp_path / "victim"
    victim.write_text("root's file")
    (state / "premortem.sqlite3").symlink_to(victim)
    _owned_by_nobody(state / "premortem.sqlite3")
    with pytest.raises(PremortemError, match="belongs to uid"):
        open_store(state)
    assert victim.read_text() == "root's file"


def test_store_file_planted_as_a_symlink_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    victim = tmp_path / "victim.sqlite3"
    (state / "premortem.sqlite3-wal").symlink_to(victim)
    with pytest.raises(PremortemError, match="sqlite3-wal is a symlink"):
        open_store(state)
    assert not victim.exists()


def test_store_in_a_world_writable_directory_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(0o777)
    with pytest.raises(PremortemError, match="writable by its group or by everyone"):
        open_store(state)
    state.chmod(0o1777)  # sticky, like /tmp: others cannot replace root's files
    open_store(state).close()


def test_fix_with_a_deploy_lock_planted_as_a_symlink_truncates_nothing(tmp_path: Path) -> None:
    """`fix --yes` takes the deploy lock before it opens the store (which would refuse the
    state dir): a deploy.lock linking to root's file was truncated and overwritten with the
    lock's JSON. Now the link is refused, the victim and the site's file are untouched."""
    settings = seed_site(tmp_path / "site")
    config = config_for(tmp_path / "site", "http://127.0.0.1:9/")
    plan = plan_fix(_seed_finding(), config)
    victim = tmp_path / "passwd-like"
    victim.write_text("root:x:0:0::/root:/bin/sh\n")
    state = config.path_of_state
    state.mkdir(parents=True, exist_ok=True)
    (state / "deploy.lock").symlink_to(victim)
    before = settings.read_bytes()
    with pytest.raises(PremortemError, match="is a symlink"):
        apply_plan(plan, config, settle=0)
    assert victim.read_text() == "root:x:0:0::/root:/bin/sh\n"
    assert settings.read_bytes() == before


def _seed_finding() -> Finding:
    edit = Edit("wp-settings.php", 156, "class-wp-locale.phpp", "class-wp-locale.php")
    return Finding("missing-file", "error", "m", "wp-settings.php", 156, fix=Fix("d", (edit,)))
