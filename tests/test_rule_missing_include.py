"""missing-include: the fixture that must fire, the look-alikes that must not."""

from __future__ import annotations

import shutil
from pathlib import Path

from check_helpers import case_tree, run_rule
from premortem.check.context import CheckOptions
from premortem.rules.missing_include import MissingInclude

TYPO = case_tree("missing-include", "fire", "constant-built-typo")
LOOK_ALIKES = case_tree("missing-include", "fp", "look-alikes")


def test_finding_has_the_column_and_quotes_the_source_line() -> None:
    # File, line, suggestion and edit: tests/fixtures/problems/missing-include/fire/.
    findings, _ = run_rule(MissingInclude, TYPO)
    assert [(f.column, f.source_line) for f in findings] == [
        (1, "require_once APP_ROOT . APP_LIB . '/helpers.phpp';")
    ]


def test_look_alikes_are_counted() -> None:
    _, result = run_rule(MissingInclude, LOOK_ALIKES)
    stats = result.stats
    assert stats["includes"] == 10
    # $plugin_file and get_template_directory(): skipped, counted, never errors.
    assert stats["includes_unresolved"] == 2
    # file_exists() guard and @include: missing, but not reported.
    assert stats["includes_guarded"] == 2
    # A dependency's own vendor/autoload.php (Composer knowledge).
    assert stats["includes_optional"] == 1


def test_include_of_a_missing_file_is_a_warning_require_an_error(tmp_path: Path) -> None:
    (tmp_path / "index.php").write_text(
        "<?php\ninclude __DIR__ . '/gone.php';\nrequire __DIR__ . '/gone-too.php';\n"
    )
    findings, _ = run_rule(MissingInclude, tmp_path)
    assert [(f.line, f.severity) for f in findings] == [(2, "warning"), (3, "error")]


def test_a_path_segment_longer_than_the_system_allows_is_missing_not_a_crash(
    tmp_path: Path,
) -> None:
    # Found by mutating WordPress files (#16): a stat of it raised ENAMETOOLONG.
    segment = "a" * 300
    (tmp_path / "index.php").write_text(f"<?php\nrequire __DIR__ . '/{segment}/b.php';\n")
    findings, _ = run_rule(MissingInclude, tmp_path)
    assert [(f.line, f.severity) for f in findings] == [(2, "error")]


def test_include_of_a_dangling_symlink_is_missing(tmp_path: Path) -> None:
    (tmp_path / "index.php").write_text("<?php\nrequire __DIR__ . '/config.php';\n")
    (tmp_path / "config.php").symlink_to("../shared/config.php")
    findings, _ = run_rule(MissingInclude, tmp_path)
    assert len(findings) == 1
    assert "dangling symlink config.php" in findings[0].message


def test_dirname_levels_and_case_only_difference(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "Cache.php").write_text("<?php\n")
    (tmp_path / "app" / "http").mkdir(parents=True)
    (tmp_path / "app" / "http" / "index.php").write_text(
        "<?php\nrequire dirname(__DIR__, 2) . '/lib/cache.php';\n"
    )
    findings, _ = run_rule(MissingInclude, tmp_path)
    assert len(findings) == 1
    assert findings[0].suggestion == "lib/Cache.php"
    assert findings[0].fix is not None
    assert findings[0].fix.edits[0].new == "'/lib/Cache.php'"


def test_define_option_overrides_the_tree(tmp_path: Path) -> None:
    (tmp_path / "index.php").write_text("<?php\nrequire BASE . 'boot.php';\n")
    (tmp_path / "boot.php").write_text("<?php\n")
    findings, result = run_rule(MissingInclude, tmp_path)
    assert findings == [] and result.stats["includes_unresolved"] == 1
    options = CheckOptions(use_cache=False, defines={"BASE": f"{tmp_path}/nope/"})
    findings, _ = run_rule(MissingInclude, tmp_path, options)
    assert len(findings) == 1 and findings[0].line == 2
    options = CheckOptions(use_cache=False, defines={"BASE": f"{tmp_path}/"})
    findings, result = run_rule(MissingInclude, tmp_path, options)
    assert findings == [] and result.stats["includes_resolved"] == 1


def test_include_path_option(tmp_path: Path) -> None:
    library = tmp_path / "lib"
    (library / "Net").mkdir(parents=True)
    (library / "Net" / "SMTP.php").write_text("<?php\n")
    site = tmp_path / "site"
    site.mkdir()
    (site / "mail.php").write_text("<?php\nrequire_once 'Net/SMTP.php';\n")
    findings, _ = run_rule(MissingInclude, site, CheckOptions(use_cache=False, include_path=["."]))
    assert len(findings) == 1
    options = CheckOptions(use_cache=False, include_path=[".", str(library)])
    findings, _ = run_rule(MissingInclude, site, options)
    assert findings == []


def test_a_copy_is_not_excused_by_the_original(tmp_path: Path) -> None:
    """A file deleted from a copy counts even if the absolute definition's tree has it."""
    original = tmp_path / "original"
    shutil.copytree(LOOK_ALIKES, original)
    (original / "index.php").write_text(
        f"<?php\ndefine('ROOT', '{original}/');\ndefine('ROOT', __DIR__ . '/');\n"
        "require ROOT . 'lib/helpers.php';\n"
    )
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    (copy / "lib" / "helpers.php").unlink()
    findings, _ = run_rule(MissingInclude, copy)
    assert [(f.file, f.line) for f in findings] == [("index.php", 4)]
