"""adopt as root: it copies a docroot the web user owns, so it must refuse paths that leave
the site and never follow a symlink that user (or anyone but root) could plant in what it
writes: the new layout, shared/, its journal. Nothing here starts a server."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from planted import NOBODY, give_to_nobody, outside_files
from premortem.errors import PremortemError
from premortem.ops.adopt import plan_adopt
from premortem.ops.adopt.journal import read_journal, write_journal
from premortem.ops.adopt.run import _build
from premortem.ops.deploy.events import StepRecorder
from test_adopt_vhost import in_place_site

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the attacks need root as the victim")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    return outside_files(tmp_path)


def _entries(tree: Path) -> dict[str, tuple[int, int, bytes]]:
    return {
        str(p.relative_to(tree)): (p.lstat().st_uid, p.lstat().st_mode, p.read_bytes())
        for p in sorted(tree.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def test_shared_path_through_a_symlink_in_the_docroot_is_refused(
    tmp_path: Path, outside: Path
) -> None:
    """The web user replaced wp-content by a link to a directory outside the docroot: adopt
    would seed shared/wp-content/uploads from outside and link the release through it."""
    config, docroot = in_place_site(tmp_path)
    os.rename(docroot / "wp-content", docroot / "wp-content.old")
    (docroot / "wp-content").symlink_to(outside)
    before = _entries(outside)
    with pytest.raises(PremortemError, match="wp-content is a symlink") as refused:
        plan_adopt(config)
    assert "adopt refused: in the docroot" in str(refused.value)
    assert _entries(outside) == before


def test_shared_paths_leaving_the_docroot_are_refused(tmp_path: Path) -> None:
    config, _docroot = in_place_site(tmp_path)
    with config.open("r+") as text:
        lines = text.read().replace("\n[lab]", 'shared_paths = ["../../etc/passwd"]\n\n[lab]')
        text.seek(0)
        text.write(lines)
    with pytest.raises(PremortemError, match="must be a relative path inside the release"):
        plan_adopt(config)


def test_layout_in_a_directory_another_user_owns_is_refused(tmp_path: Path) -> None:
    """--site-root in a directory the web user owns: they could swap the new layout (or its
    releases/) for a symlink while root builds it or later deploys into it."""
    config, _docroot = in_place_site(tmp_path)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    give_to_nobody(theirs)
    with pytest.raises(PremortemError, match=f"theirs belongs to uid {NOBODY.pw_uid}"):
        plan_adopt(config, theirs / "blog.premortem")
    assert list(theirs.iterdir()) == []


def test_state_dir_another_user_owns_is_refused(tmp_path: Path) -> None:
    config, _docroot = in_place_site(tmp_path)
    state = tmp_path / "state"
    state.mkdir()
    give_to_nobody(state)
    with pytest.raises(PremortemError, match="refusing to write in the state dir"):
        plan_adopt(config)


def test_journal_planted_as_a_symlink_is_replaced_not_followed(
    tmp_path: Path, outside: Path
) -> None:
    config, _docroot = in_place_site(tmp_path)
    plan = plan_adopt(config)
    plan.journal.parent.mkdir(parents=True, exist_ok=True)
    plan.journal.symlink_to(outside / "victim")
    # The fixed temporary name an earlier premortem wrote through before renaming it.
    plan.journal.with_name(".adopt.json.tmp").symlink_to(outside / "victim")
    write_journal(plan, tmp_path / "state" / "backups" / "adopt-x")
    assert (outside / "victim").read_text() == "root's secret\n"
    assert not plan.journal.is_symlink()
    assert read_journal(plan.journal.parent).site_root == str(plan.site_root)


def test_build_keeps_owners_links_stay_links_and_nothing_outside_changes(
    tmp_path: Path, outside: Path
) -> None:
    """A docroot the web user owns, with a link of its own to a directory outside: the
    release keeps owners and modes, carries the link as a link, and root writes nothing
    outside (the link's target is neither copied nor chowned)."""
    config, docroot = in_place_site(tmp_path)
    uploads = docroot / "wp-content" / "uploads"
    (uploads / "cat.jpg").write_bytes(b"jpg")
    (docroot / "ext").symlink_to(outside / "uploads")
    for path in (docroot, docroot / "wp-content", uploads, uploads / "cat.jpg", docroot / "ext"):
        give_to_nobody(path)
    os.chmod(uploads, 0o2775)
    before = _entries(outside)
    plan = plan_adopt(config)
    recorder = StepRecorder(plan.config.path_of_state, None)
    try:
        _build(plan, recorder)
    finally:
        recorder.close()
    release = plan.layout.release_path(plan.release)
    assert os.readlink(release / "ext") == str(outside / "uploads")
    assert (release / "ext").lstat().st_uid == NOBODY.pw_uid
    shared_uploads = plan.layout.shared_dir / "wp-content" / "uploads"
    st = shared_uploads.lstat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (NOBODY.pw_uid, 0o2775)
    assert (shared_uploads / "cat.jpg").lstat().st_uid == NOBODY.pw_uid
    assert (release / "wp-content" / "uploads").is_symlink()
    assert _entries(outside) == before
    assert (outside / "uploads").stat().st_uid == 0
