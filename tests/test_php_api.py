"""The resolver API that `premortem diagnose` builds on, against the seed outage."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from premortem.model import Edit
from premortem.php import edit_for_suggestion, find_includes_of, suggest_existing

WORDPRESS = Path("/usr/share/wordpress")


@pytest.fixture(scope="module")
def seed_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of Debian's WordPress with the seed typo on wp-settings.php line 156."""
    root = tmp_path_factory.mktemp("seed") / "wordpress"
    # Symlinks are copied as files: Debian's relative links into /usr/share/php would dangle.
    shutil.copytree(WORDPRESS, root)
    settings = root / "wp-settings.php"
    lines = settings.read_text().splitlines(keepends=True)
    assert "class-wp-locale.php'" in lines[155]
    lines[155] = lines[155].replace("class-wp-locale.php'", "class-wp-locale.phpp'")
    settings.write_text("".join(lines))
    return root


def test_find_includes_of_maps_the_missing_file_to_line_156(seed_release: Path) -> None:
    missing = seed_release / "wp-includes" / "class-wp-locale.phpp"
    sites = find_includes_of(seed_release, missing)
    assert len(sites) == 1
    site = sites[0]
    assert site.file == seed_release / "wp-settings.php"
    assert (site.line, site.column, site.kind) == (156, 1, "require_once")
    assert site.expression == "ABSPATH . WPINC . '/class-wp-locale.phpp'"
    assert site.candidates == (missing,)


def test_suggestion_and_edit_for_the_seed(seed_release: Path) -> None:
    missing = seed_release / "wp-includes" / "class-wp-locale.phpp"
    suggestion = suggest_existing(missing)
    assert suggestion == seed_release / "wp-includes" / "class-wp-locale.php"
    site = find_includes_of(seed_release, missing)[0]
    edit = edit_for_suggestion(site, missing, suggestion)
    assert edit == Edit(
        file="wp-settings.php",
        line=156,
        old="'/class-wp-locale.phpp'",
        new="'/class-wp-locale.php'",
    )
    fixed = site.source_line.replace(edit.old, edit.new)
    assert fixed == "require_once ABSPATH . WPINC . '/class-wp-locale.php';"


def test_find_includes_of_an_existing_file_lists_every_includer() -> None:
    target = WORDPRESS / "wp-includes" / "class-wp-locale.php"
    sites = find_includes_of(WORDPRESS, target)
    assert {(s.file.name, s.line) for s in sites} >= {("wp-settings.php", 156)}
    assert all(target in s.candidates for s in sites)


@pytest.mark.parametrize(
    ("missing", "expected"),
    [
        ("wp-includes/class-wp-locale.phpp", "wp-includes/class-wp-locale.php"),
        ("wp-includes/Class-WP-Locale.php", "wp-includes/class-wp-locale.php"),
        ("wp-includes/class-wp-lcoale.php", "wp-includes/class-wp-locale.php"),
        ("wp-includes/class-wp-locale.inc", "wp-includes/class-wp-locale.php"),
        ("wp-inclues/version.php", "wp-includes/version.php"),
    ],
)
def test_suggest_existing_kinds_of_typo(missing: str, expected: str) -> None:
    assert suggest_existing(WORDPRESS / missing) == WORDPRESS / expected


def test_no_suggestion_when_nothing_is_close() -> None:
    assert suggest_existing(WORDPRESS / "wp-includes" / "completely-unrelated-name.php") is None


def test_find_includes_of_keeps_the_parse_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second call on an unchanged tree parses nothing (diagnose calls it repeatedly)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    site = tmp_path / "site"
    (site / "lib").mkdir(parents=True)
    (site / "lib" / "util.php").write_text("<?php function util() {}\n")
    (site / "index.php").write_text("<?php\nrequire __DIR__ . '/lib/util.php';\n")
    first = find_includes_of(site, site / "lib" / "util.php")
    assert [(s.file.name, s.line) for s in first] == [("index.php", 2)]

    from premortem.php import parsing

    def no_parse(job: tuple[str, bool, bool]) -> None:
        raise AssertionError(f"parsed again: {job[0]}")

    monkeypatch.setattr(parsing, "_parse_path", no_parse)
    second = find_includes_of(site, site / "lib" / "util.php")
    assert [(s.file.name, s.line) for s in second] == [("index.php", 2)]


def test_find_includes_of_through_a_symlinked_path(tmp_path: Path) -> None:
    """The target may be named through a link; the include names the real file."""
    site = tmp_path / "site"
    (site / "lib").mkdir(parents=True)
    (site / "lib" / "util.php").write_text("<?php\n")
    (site / "index.php").write_text("<?php\nrequire __DIR__ . '/lib/util.php';\n")
    (tmp_path / "alias").symlink_to(site / "lib")
    sites = find_includes_of(site, tmp_path / "alias" / "util.php", use_cache=False)
    assert [(s.file.name, s.line) for s in sites] == [("index.php", 2)]
