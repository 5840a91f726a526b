"""deploy, stage and rollback as root: a symlink planted by another user (in SRC, in shared/,
in the state dir, or where premortem is about to create a file) never makes premortem write,
chmod, chown or delete outside the site. Each attack points at files under
tmp_path/outside, which must come out untouched; the message must say what was refused.
Symlinks that are a release's own content still deploy as symlinks."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from deploy_helpers import cli, make_site, site_config
from planted import NOBODY, give_to_nobody, outside_files, snapshot
from premortem.errors import PremortemError
from premortem.ops.deploy import DeployOptions, deploy, keepcopy, rollback
from premortem.ops.deploy import copy as copy_module
from premortem.ops.deploy.copy import copy_release
from premortem.ops.deploy.lock import DeployLock
from premortem.ops.deploy.pipeline import plan_deploy
from premortem.ops.deploy.releases import (
    SiteLayout,
    cleanup_releases,
    mark_bad,
    remove_partials,
)
from premortem.ops.deploy.shared import link_shared
from premortem.ops.deploy.stage import run_stage
from premortem.siteconfig import write_site_config

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the attacks need root as the victim")

RELEASE = "20261126T000000Z"
SHARED = ["wp-config.php", "wp-content/uploads"]


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    return outside_files(tmp_path)


def _src(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "wp-content" / "themes").mkdir(parents=True)
    (src / "index.php").write_text("<?php echo 'new';\n")
    (src / "wp-content" / "themes" / "style.css").write_text("body{}\n")
    return src


# --- SRC: the tree being deployed belongs to someone else --------------------------------


def test_src_shipping_a_symlink_above_a_shared_path_is_refused(
    tmp_path: Path, outside: Path
) -> None:
    """SRC's wp-content is a symlink to a directory outside: linking wp-content/uploads in
    the release would delete outside/uploads (rmtree through the link) and plant a link
    there. The deploy is refused before anything changes; outside is untouched."""
    site = make_site(tmp_path / "site", [RELEASE], RELEASE)
    src = tmp_path / "src"
    src.mkdir()
    (src / "index.php").write_text("<?php\n")
    (src / "wp-content").symlink_to(outside)
    before = snapshot(outside)
    config = site_config(site)
    with pytest.raises(PremortemError, match="wp-content is a symlink") as refused:
        deploy(config, src, DeployOptions(check=False, stage=False, verify=False))
    assert "shared path wp-content/uploads" in str(refused.value)
    assert snapshot(outside) == before
    assert sorted(p.name for p in (site / "releases").iterdir()) == [RELEASE]
    assert os.readlink(site / "current") == f"releases/{RELEASE}"


def test_link_shared_refuses_a_symlinked_parent_even_past_the_plan(
    tmp_path: Path, outside: Path
) -> None:
    """The same symlink appearing after the plan (SRC changed under the copy): the writer
    itself opens each directory with O_NOFOLLOW and refuses it."""
    src = _src(tmp_path)
    release = tmp_path / "release"
    copy_release(src, release, link_from=None, skip=set(SHARED))
    shared = tmp_path / "shared"
    (shared / "wp-content" / "uploads").mkdir(parents=True)
    os.rename(release / "wp-content", release / "wp-content.real")
    (release / "wp-content").symlink_to(outside)
    before = snapshot(outside)
    with pytest.raises(PremortemError, match="wp-content is a symlink"):
        link_shared(release, src, shared, ["wp-content/uploads"])
    assert snapshot(outside) == before


def test_src_file_swapped_for_a_symlink_while_copied_is_not_read_through(
    tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between listing SRC and opening index.php, its owner replaces it by a link to a
    root-only file: root must not copy that file into a 0644 release."""
    src = _src(tmp_path)
    real_open = os.open

    def swapping_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if path == "index.php" and kwargs.get("dir_fd") is not None:
            os.unlink("index.php", dir_fd=kwargs["dir_fd"])
            os.symlink(outside / "victim", "index.php", dir_fd=kwargs["dir_fd"])
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(copy_module.os, "open", swapping_open)
    with pytest.raises(PremortemError, match="became a symlink while it was copied"):
        copy_release(src, tmp_path / "release", link_from=None)
    monkeypatch.undo()
    copied = [p for p in (tmp_path / "release").rglob("*") if p.is_file()]
    assert all(b"root's secret" not in p.read_bytes() for p in copied)


def test_release_content_symlinks_deploy_as_symlinks_and_are_never_written_through(
    tmp_path: Path, outside: Path
) -> None:
    """A release may carry links of its own (to itself, or to a path on the host): copied
    as links, not followed, their targets untouched; the hard-link shortcut does not reach
    through a directory link of the current release."""
    src = _src(tmp_path)
    (src / "alias.php").symlink_to("index.php")
    (src / "ext").symlink_to(outside / "uploads")
    before = snapshot(outside)
    first = tmp_path / "r1"
    copy_release(src, first, link_from=None, skip=set(SHARED))
    second_src = tmp_path / "src2"
    (second_src / "ext").mkdir(parents=True)
    (second_src / "ext" / "keep.jpg").write_bytes(b"root's")
    stats = copy_release(second_src, tmp_path / "r2", link_from=first)
    assert os.readlink(first / "alias.php") == "index.php"
    assert os.readlink(first / "ext") == str(outside / "uploads")
    assert stats.linked == 0 and stats.copied == 1, "no hard link to a file outside"
    assert snapshot(outside) == before


def test_hard_link_shortcut_does_not_follow_a_file_swapped_after_comparing(
    tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The current release's index.php (in a directory its owner may write, as after adopt)
    is compared, then swapped for a link to root's file: the new release gets a copy of
    SRC's bytes, not a hard link to the file outside."""
    src = _src(tmp_path)
    first = tmp_path / "r1"
    copy_release(src, first, link_from=None)
    real_same = copy_module._same_file

    def swapping(fd: int, st: os.stat_result, previous: Path, mode: int) -> Any:
        same = real_same(fd, st, previous, mode)
        if previous.name == "index.php":
            previous.unlink()
            previous.symlink_to(outside / "victim")
        return same

    monkeypatch.setattr(copy_module, "_same_file", swapping)
    before = snapshot(outside)
    stats = copy_release(src, tmp_path / "r2", link_from=first)
    copied = tmp_path / "r2" / "index.php"
    assert not copied.is_symlink() and copied.read_text() == "<?php echo 'new';\n"
    assert copied.stat().st_ino != (outside / "victim").stat().st_ino
    assert stats.copied == 1 and stats.linked == 1  # style.css still linked
    assert snapshot(outside) == before


# --- shared/: the web user owns uploads ----------------------------------------------


def _web_uploads(src: Path) -> Path:
    """SRC's wp-content/uploads as the web user owns it, with one upload."""
    uploads = src / "wp-content" / "uploads"
    (uploads / "2026").mkdir(parents=True)
    (uploads / "2026" / "cat.jpg").write_bytes(b"jpg")
    os.chmod(uploads, 0o2775)
    give_to_nobody(uploads, uploads / "2026", uploads / "2026" / "cat.jpg")
    return uploads


def test_seeding_does_not_read_a_file_swapped_for_a_symlink(
    tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While shared/wp-content/uploads is seeded from SRC, the web user (owner of uploads)
    swaps cat.jpg for a link to a root-only file. main copied that file and gave the copy
    to the link's owner: the web user could read root's secret. Now the swap is refused."""
    src = _src(tmp_path)
    _web_uploads(src)
    real_open = os.open

    def swapping_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        fd = kwargs.get("dir_fd")
        if path == "cat.jpg" and fd is not None and not flags & os.O_CREAT:
            os.unlink("cat.jpg", dir_fd=fd)
            os.symlink(outside / "victim", "cat.jpg", dir_fd=fd)
            os.chown("cat.jpg", NOBODY.pw_uid, NOBODY.pw_gid, dir_fd=fd, follow_symlinks=False)
        return real_open(path, flags, *args, **kwargs)

    release = tmp_path / "release"
    copy_release(src, release, link_from=None, skip=set(SHARED))
    shared = tmp_path / "shared"
    shared.mkdir()
    before = snapshot(outside)
    monkeypatch.setattr(keepcopy.os, "open", swapping_open)
    with pytest.raises(PremortemError, match="changed while it was copied"):
        link_shared(release, src, shared, ["wp-content/uploads"])
    monkeypatch.undo()
    assert snapshot(outside) == before
    copies = [p for p in shared.rglob("*") if p.is_file() and not p.is_symlink()]
    assert all(b"secret" not in p.read_bytes() for p in copies)


def test_seeding_fills_root_only_directories_then_hands_them_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file of the seed copy is written into a directory only root can enter (0700):
    the web user gets each directory only once premortem is done below it."""
    src = _src(tmp_path)
    _web_uploads(src)
    seen: list[tuple[int, int]] = []
    real_copy_file = keepcopy._copy_file

    def watching(job: Any, src_dir: int, name: str, dst_dir: int, *rest: Any) -> None:
        st = os.fstat(dst_dir)
        seen.append((st.st_uid, stat.S_IMODE(st.st_mode)))
        real_copy_file(job, src_dir, name, dst_dir, *rest)

    monkeypatch.setattr(keepcopy, "_copy_file", watching)
    release = tmp_path / "release"
    copy_release(src, release, link_from=None, skip=set(SHARED))
    shared = tmp_path / "shared"
    shared.mkdir()
    link_shared(release, src, shared, ["wp-content/uploads"])
    assert seen == [(0, 0o700)]
    copy = shared / "wp-content" / "uploads"
    st = copy.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (NOBODY.pw_uid, 0o2775)
    assert (copy / "2026" / "cat.jpg").stat().st_uid == NOBODY.pw_uid


def test_seeding_into_a_shared_directory_the_web_user_owns_is_refused(
    tmp_path: Path, outside: Path
) -> None:
    """shared/conf belongs to the web user, who planted `.settings.php.seeding` (the name
    the seed copy is built under) pointing outside: premortem does not copy there."""
    src = _src(tmp_path)
    (src / "conf").mkdir()
    (src / "conf" / "settings.php").write_text("<?php\n")
    shared = tmp_path / "shared"
    (shared / "conf").mkdir(parents=True)
    (shared / "conf" / ".settings.php.seeding").symlink_to(outside / "victim")
    give_to_nobody(shared / "conf", shared / "conf" / ".settings.php.seeding")
    release = tmp_path / "release"
    copy_release(src, release, link_from=None, skip={"conf/settings.php"})
    before = snapshot(outside)
    with pytest.raises(PremortemError, match=r"shared/conf.* belongs to uid"):
        link_shared(release, src, shared, ["conf/settings.php"])
    assert snapshot(outside) == before


# --- the site tree and the state dir -------------------------------------------------


@pytest.mark.parametrize("where", ["site", "releases", "shared", "state"])
def test_a_site_another_user_can_rearrange_is_refused(tmp_path: Path, where: str) -> None:
    """The site root, releases/, shared/ or the state dir owned by another user (who could
    swap any of them for a symlink): deploy (its dry run too) and rollback refuse."""
    site = make_site(tmp_path / "site", [RELEASE, "20261127T000000Z"], "20261127T000000Z")
    config = site_config(site)
    state = Path(config.state_dir)
    state.mkdir()
    target = {"site": site, "releases": site / "releases", "shared": site / "shared"}
    give_to_nobody(target.get(where, state))
    src = _src(tmp_path)
    with pytest.raises(PremortemError, match=f"belongs to uid {NOBODY.pw_uid}"):
        plan_deploy(config, src)
    with pytest.raises(PremortemError, match=f"belongs to uid {NOBODY.pw_uid}"):
        rollback(config)
    assert os.readlink(site / "current") == "releases/20261127T000000Z"


def test_a_group_writable_directory_above_the_site_is_refused(tmp_path: Path) -> None:
    site = make_site(tmp_path / "www" / "site", [RELEASE], RELEASE)
    src = _src(tmp_path)
    os.chmod(tmp_path / "www", 0o775)
    with pytest.raises(PremortemError, match="www is writable by its group or by everyone"):
        plan_deploy(site_config(site), src)
    os.chmod(tmp_path / "www", 0o1777)  # sticky, as /tmp: others cannot replace root's entries
    plan_deploy(site_config(site), src)


def test_a_site_reached_through_a_link_into_another_users_directory_is_refused(
    tmp_path: Path,
) -> None:
    """/srv/site -> /home/bob/site: the path looks root's, the directory it leads to is not."""
    theirs = tmp_path / "home-bob"
    site = make_site(theirs / "site", [RELEASE], RELEASE)
    give_to_nobody(theirs)
    (tmp_path / "srv").mkdir()
    (tmp_path / "srv" / "site").symlink_to(site)
    config = site_config(tmp_path / "srv" / "site")
    with pytest.raises(PremortemError, match=f"home-bob belongs to uid {NOBODY.pw_uid}"):
        plan_deploy(config, _src(tmp_path))


def test_the_cli_says_what_it_refused_in_one_line(tmp_path: Path) -> None:
    """`premortem deploy --dry-run` and `rollback` as users run them: exit 2, one clear line
    naming the directory, no traceback, nothing changed."""
    site = make_site(tmp_path / "site", [RELEASE, "20261127T000000Z"], "20261127T000000Z")
    config_file = tmp_path / "premortem.toml"
    write_site_config(site_config(site), config_file)
    give_to_nobody(site / "releases")
    src = _src(tmp_path)
    for args in (["deploy", str(src), "--dry-run"], ["rollback"]):
        proc = cli(*args, "--config", str(config_file))
        assert proc.returncode == 2, proc.stdout + proc.stderr
        message = " ".join(proc.stderr.split())
        assert f"releases belongs to uid {NOBODY.pw_uid}" in message
        assert "Traceback" not in proc.stderr
    assert os.readlink(site / "current") == "releases/20261127T000000Z"


def test_deploy_lock_planted_as_a_symlink_is_not_followed(tmp_path: Path, outside: Path) -> None:
    """The lock is truncated and written as root (fix takes it before anything else): a
    deploy.lock linking to a root file must not truncate it."""
    state = tmp_path / "state"
    state.mkdir()
    (state / "deploy.lock").symlink_to(outside / "victim")
    before = snapshot(outside)
    with pytest.raises(PremortemError, match=r"deploy\.lock: it is a symlink"):
        DeployLock(state, "fix").acquire()
    (state / "deploy.lock").unlink()
    give_to_nobody(state)
    with pytest.raises(PremortemError, match=f"belongs to uid {NOBODY.pw_uid}"):
        DeployLock(state, "fix").acquire()
    assert snapshot(outside) == before


def test_stage_dir_planted_as_a_symlink_is_refused(tmp_path: Path, outside: Path) -> None:
    """<state_dir>/stage is where root writes the stage config and the stage server writes
    its logs as root: a link to elsewhere owned by another user is refused."""
    site = make_site(tmp_path / "site", [RELEASE], RELEASE)
    config = site_config(site)
    config.server_config = str(tmp_path / "apache2.conf")
    state = Path(config.state_dir)
    state.mkdir()
    (state / "stage").symlink_to(outside / "uploads")
    give_to_nobody(state / "stage")
    before = snapshot(outside)
    with pytest.raises(PremortemError, match="stage is a symlink owned by uid"):
        run_stage(config, site / "releases" / RELEASE, state)
    assert snapshot(outside) == before


def test_bad_marker_replaces_a_planted_symlink(tmp_path: Path, outside: Path) -> None:
    site = make_site(tmp_path / "site", [RELEASE], RELEASE)
    layout = SiteLayout(site)
    layout.bad_marker(RELEASE).symlink_to(outside / "victim")
    # The fixed temporary name an earlier premortem wrote through before renaming it.
    (site / "releases" / f".{RELEASE}.bad.tmp").symlink_to(outside / "victim")
    before = snapshot(outside)
    mark_bad(layout, RELEASE, "stage: 500")
    assert snapshot(outside) == before
    marker = layout.bad_marker(RELEASE)
    assert not marker.is_symlink() and json.loads(marker.read_text())["reason"] == "stage: 500"


# --- what was already safe, kept so ---------------------------------------------------


def test_cleanup_and_leftover_removal_do_not_follow_links(tmp_path: Path, outside: Path) -> None:
    """Removing old releases (rmtree works through descriptors) and leftovers of a killed
    deploy never deletes through a link: a release linking outside, `.partial-x` and
    `.current.123` planted as links."""
    names = [f"2026112{n}T000000Z" for n in range(4)]
    site = make_site(tmp_path / "site", names, names[-1])
    (site / "releases" / names[0] / "ext").symlink_to(outside / "uploads")
    (site / "releases" / ".partial-x").symlink_to(outside / "uploads")
    (site / ".current.123").symlink_to(outside / "uploads")
    before = snapshot(outside)
    layout = SiteLayout(site)
    assert sorted(remove_partials(layout)) == [".current.123", ".partial-x"]
    assert cleanup_releases(layout, 2, protect=set()) == names[:2]
    assert snapshot(outside) == before


def test_a_plain_deploy_plan_still_passes(tmp_path: Path) -> None:
    """The checks refuse attacks, not ordinary sites: a root-owned site, and SRC (a
    developer's build tree) with links of its own and shared paths under real directories."""
    site = make_site(tmp_path / "site", [RELEASE], RELEASE)
    src = _src(tmp_path)
    (src / "alias.php").symlink_to("index.php")
    (src / "wp-content" / "uploads").mkdir()
    give_to_nobody(src, src / "index.php", src / "wp-content")
    plan = plan_deploy(site_config(site), src)
    assert [step["step"] for step in plan.describe()][:2] == ["copy", "gate"]
