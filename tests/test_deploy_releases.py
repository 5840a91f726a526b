"""Releases: listing, naming, bad markers, rollback choice, keep/cleanup, leftovers."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deploy_helpers import make_site
from premortem.errors import PremortemError
from premortem.ops.deploy.releases import (
    SiteLayout,
    cleanup_releases,
    clear_bad,
    current_release_name,
    list_releases,
    mark_bad,
    new_release_name,
    remove_partials,
    rollback_target,
)

NAMES = ["20261120T100000Z", "20261121T100000Z", "20261122T100000Z", "20261123T100000Z"]


def test_list_marks_current_and_bad_and_ignores_partials(tmp_path: Path) -> None:
    layout = SiteLayout(make_site(tmp_path / "site", NAMES, NAMES[2]))
    (layout.releases_dir / ".partial-20261124T100000Z").mkdir()
    (layout.releases_dir / ".20261124T100000Z.tmp").mkdir()
    mark_bad(layout, NAMES[1], "gate: new errors")
    releases = list_releases(layout)
    assert [r.name for r in releases] == NAMES
    assert [r.current for r in releases] == [False, False, True, False]
    assert [r.bad for r in releases] == [False, True, False, False]
    assert releases[1].bad_reason == "gate: new errors"
    data = releases[0].to_dict()
    assert set(data) >= {"name", "path", "current", "bad", "created"}
    assert data["created"] == "2026-11-20T10:00:00+00:00"


def test_missing_releases_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PremortemError, match="releases"):
        list_releases(SiteLayout(tmp_path))


def test_current_that_is_not_a_release(tmp_path: Path) -> None:
    layout = SiteLayout(make_site(tmp_path / "site", NAMES[:1], None))
    os.symlink("/usr", layout.current_link)
    assert current_release_name(layout) is None


def test_new_release_name_is_unique_and_sorts_last(tmp_path: Path) -> None:
    layout = SiteLayout(make_site(tmp_path / "site", NAMES, NAMES[-1]))
    moment = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)  # the same second as NAMES[-1]
    name = new_release_name(layout, moment)
    assert name not in NAMES and name > NAMES[-1]
    (layout.releases_dir / name).mkdir()
    assert new_release_name(layout, moment) > name
    later = datetime(2026, 11, 25, 1, 2, 3, tzinfo=UTC)
    assert new_release_name(layout, later) == "20261125T010203Z"


def test_rollback_skips_bad_releases(tmp_path: Path) -> None:
    layout = SiteLayout(make_site(tmp_path / "site", NAMES, NAMES[3]))
    assert rollback_target(layout).name == NAMES[2]
    mark_bad(layout, NAMES[2], "verify: / answered 500")
    assert rollback_target(layout).name == NAMES[1]
    mark_bad(layout, NAMES[1], "x")
    mark_bad(layout, NAMES[0], "x")
    with pytest.raises(PremortemError, match="no good release older"):
        rollback_target(layout)


def test_rollback_to_named_release(tmp_path: Path) -> None:
    layout = SiteLayout(make_site(tmp_path / "site", NAMES, NAMES[3]))
    assert rollback_target(layout, NAMES[0]).name == NAMES[0]
    mark_bad(layout, NAMES[0], "stage: / answered 500")
    with pytest.raises(PremortemError, match="marked bad"):
        rollback_target(layout, NAMES[0])
    with pytest.raises(PremortemError, match="no release named"):
        rollback_target(layout, "nope")
    with pytest.raises(PremortemError, match="already current"):
        rollback_target(layout, NAMES[3])


def test_cleanup_keeps_current_and_previous(tmp_path: Path) -> None:
    names = [f"202611{day:02d}T100000Z" for day in range(1, 9)]
    # current is an old release (after a rollback); previous is protected too
    layout = SiteLayout(make_site(tmp_path / "site", names, names[1]))
    mark_bad(layout, names[0], "x")
    removed = cleanup_releases(layout, keep=3, protect={names[7], names[0]})
    remaining = [r.name for r in list_releases(layout)]
    assert len(remaining) == 3
    assert set(remaining) == {names[0], names[1], names[7]}
    assert removed == names[2:7]
    assert layout.bad_marker(names[0]).exists()


def test_cleanup_removes_bad_markers_of_removed(tmp_path: Path) -> None:
    layout = SiteLayout(make_site(tmp_path / "site", NAMES, NAMES[3]))
    mark_bad(layout, NAMES[0], "x")
    assert cleanup_releases(layout, keep=3, protect=set()) == [NAMES[0]]
    assert not layout.bad_marker(NAMES[0]).exists()


def test_remove_partials(tmp_path: Path) -> None:
    layout = SiteLayout(make_site(tmp_path / "site", NAMES[:1], NAMES[0]))
    (layout.releases_dir / ".partial-x" / "deep").mkdir(parents=True)
    os.symlink("releases/x", layout.root / ".current.1234")
    assert sorted(remove_partials(layout)) == [".current.1234", ".partial-x"]
    assert current_release_name(layout) == NAMES[0]


def test_bad_marker_is_json_beside_the_release(tmp_path: Path) -> None:
    layout = SiteLayout(make_site(tmp_path / "site", NAMES[:1], NAMES[0]))
    mark_bad(layout, NAMES[0], "gate")
    marker = layout.releases_dir / f"{NAMES[0]}.bad"
    assert json.loads(marker.read_text())["reason"] == "gate"
    assert not any(p.name.endswith(".bad") for p in (layout.releases_dir / NAMES[0]).iterdir())


def test_clear_bad(tmp_path: Path) -> None:
    layout = SiteLayout(make_site(tmp_path / "site", NAMES[:2], NAMES[1]))
    mark_bad(layout, NAMES[0], "not verified")
    assert list_releases(layout)[0].bad
    clear_bad(layout, NAMES[0])
    assert not list_releases(layout)[0].bad
    clear_bad(layout, NAMES[0])  # clearing twice is harmless
