"""missing-include follows values as PHP computes them: include_path, local variables,
sprintf/str_replace/basename, class constants, and targets PHP cannot open (#18)."""

from __future__ import annotations

from pathlib import Path

from check_helpers import run_rule
from premortem.check.context import CheckOptions
from premortem.rules.missing_include import MissingInclude


def _reported(root: Path, options: CheckOptions | None = None) -> list[tuple[str, int, str]]:
    findings, _ = run_rule(MissingInclude, root, options)
    return [(f.file, f.line or 0, f.message) for f in findings]


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_include_path_extended_from_get_include_path_is_followed(tmp_path: Path) -> None:
    # The seed-style typo in a bootstrap that extends include_path: reported, with its
    # did-you-mean, instead of being counted as not statically resolvable.
    root = _write(
        tmp_path,
        {
            "lib/include/db.inc.php": "<?php\n",
            "htdocs/index.php": (
                "<?php\n$root = dirname(__DIR__) . '/lib';\n"
                "set_include_path(get_include_path() . PATH_SEPARATOR . $root);\n"
                "require_once 'include/db.inc.phpp';\nrequire_once 'include/db.inc.php';\n"
            ),
            "htdocs/other.php": (
                "<?php\n$p = dirname(__DIR__) . '/lib' . PATH_SEPARATOR;\n"
                "$p .= ini_get('include_path');\nini_set('include_path', $p);\n"
                "require 'include/db.inc.php';\n"
            ),
        },
    )
    findings, result = run_rule(MissingInclude, root, CheckOptions(use_cache=False))
    assert [(f.file, f.line, f.suggestion) for f in findings] == [
        ("htdocs/index.php", 4, "lib/include/db.inc.php")
    ]
    assert result.stats["includes_unresolved"] == 0


def test_each_value_a_variable_can_take_is_checked(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "here.php": "<?php\n",
            "index.php": (
                "<?php\n$path = __DIR__ . '/here.php';\nif (rand(0, 1)) {\n"
                "    $path = __DIR__ . '/not-there.php';\n}\nrequire $path;\n"
                "$ok = __DIR__ . '/here.php';\nrequire $ok;\n"
                "$ok = __DIR__ . '/gone.php';\n"
                "function f($param) { require $param; }\n"
                "foreach (['a.php'] as $each) { require __DIR__ . '/' . $each; }\n"
            ),
        },
    )
    assert [(line, message.split(" of ")[1]) for _, line, message in _reported(root)] == [
        (6, "missing file not-there.php")
    ]


def test_computed_values(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "lib/a.php": "<?php\n",
            "index.php": (
                "<?php\nclass Paths { const LIB = 'lib'; function m() {"
                " require __DIR__ . '/' . self::LIB . '/b.php'; } }\n"
                "require sprintf('%s/%s/a.php', __DIR__, Paths::LIB);\n"
                "require str_replace('x', 'a', __DIR__ . '/lib/x.php');\n"
                "require sprintf('%s/lib/c.php', __DIR__);\n"
                "require __DIR__ . '/' . basename(__FILE__) . '.missing';\n"
            ),
        },
    )
    assert [line for _, line, _ in _reported(root)] == [2, 5, 6]


def test_targets_php_cannot_open(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "notes.txt": "plain text is included as output\n",
            "index.php": (
                "<?php\nrequire '';\ninclude [];\nrequire new stdClass();\nrequire __DIR__;\n"
                "require 'file://' . __DIR__ . '/notes.txt';\nrequire 'notes.txt';\n"
                "require 'file:///nowhere/x.php';\ninclude false;\n"
            ),
        },
    )
    findings, _ = run_rule(MissingInclude, root)
    assert [(f.line, f.severity, f.message) for f in findings] == [
        (2, "error", "require of an empty path: PHP cannot open it as a file"),
        (3, "warning", "include of an array: PHP cannot open it as a file"),
        (4, "error", "require of an object: PHP cannot open it as a file"),
        (5, "error", "require of a directory ."),
        (8, "error", "require of missing file /nowhere/x.php"),
        (9, "error", "include of a boolean: PHP cannot open it as a file"),
    ]


def test_a_suggestion_must_be_close_and_inside_the_tree(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "include/db.inc.php": "<?php\n",
            "index.php": "<?php\nrequire __DIR__ . '/include/js.inc.php';\nrequire_once '.';\n",
        },
    )
    findings, _ = run_rule(MissingInclude, root)
    assert [(f.line, f.suggestion, f.fix) for f in findings] == [(2, None, None), (3, None, None)]


def test_generated_and_development_targets_are_warnings_that_say_so(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "vendor/composer/InstalledVersions.php": (
                "<?php\nrequire __DIR__ . '/installed.php';\n"
                "require __DIR__ . '/../acme/lib/tests/bootstrap.php';\n"
            ),
        },
    )
    assert [(line, message.split("(")[-1]) for _, line, message in _reported(root)] == [
        (2, "a file Composer generates on install)"),
        (3, "a dependency's development file, not installed)"),
    ]


def test_relative_include_judged_from_each_entry_point(tmp_path: Path) -> None:
    # lib/util.php is included by two entry points; './conf.php' is found from the one in
    # the root (working directory: the root) and missing from tools/b.php's (tools/).
    root = _write(
        tmp_path,
        {
            "conf.php": "<?php\n",
            "a.php": "<?php\nrequire __DIR__ . '/lib/util.php';\n",
            "tools/b.php": "<?php\nrequire __DIR__ . '/../lib/util.php';\n",
            "lib/util.php": "<?php\nrequire './conf.php';\n",
        },
    )
    findings, _ = run_rule(MissingInclude, root, CheckOptions(use_cache=False))
    assert [(f.file, f.line) for f in findings] == [("lib/util.php", 2)]
    assert "when run from tools/b.php" in findings[0].message
    assert "entry point: tools/b.php" in findings[0].to_dict()["evidence"]
    assert "tried: tools/conf.php" in findings[0].to_dict()["evidence"]
    (root / "tools/conf.php").write_text("<?php\n")
    assert _reported(root, CheckOptions(use_cache=False)) == []


def test_working_directory_comes_from_the_entry_point_and_its_chdir(tmp_path: Path) -> None:
    # './conf.php' in lib/ exists only in web/: found from web/index.php (served there)
    # and from cli/run.php after chdir() to web/; the file's own directory would not do.
    root = _write(
        tmp_path,
        {
            "web/conf.php": "<?php\n",
            "web/index.php": "<?php\nrequire __DIR__ . '/../lib/util.php';\n",
            "cli/run.php": (
                "<?php\nchdir(str_replace('/cli/run.php', '/web', __FILE__));\n"
                "require dirname(__DIR__) . '/lib/util.php';\n"
            ),
            "lib/util.php": "<?php\nrequire './conf.php';\nrequire 'conf.php';\n",
        },
    )
    assert _reported(root, CheckOptions(use_cache=False)) == []
    # Without the chdir() the CLI script runs it from cli/: both fail there.
    (root / "cli/run.php").write_text("<?php\nrequire dirname(__DIR__) . '/lib/util.php';\n")
    reported = _reported(root, CheckOptions(use_cache=False, include_path=["."]))
    assert [(f, line) for f, line, _ in reported] == [("lib/util.php", 2), ("lib/util.php", 3)]
    assert all("when run from cli/run.php" in message for *_, message in reported)


def test_includes_in_branches_that_never_run_are_not_errors(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "index.php": (
                "<?php\n"
                "if (false) { require 'gone1.php'; }\n"
                "if (0) require 'gone2.php';\n"
                "if (PHP_VERSION_ID < 50300) { require 'legacy.php'; }\n"
                "if (version_compare(PHP_VERSION, '5.3.0', '<')) require 'legacy2.php';\n"
                "if (PHP_MAJOR_VERSION < 7 && $x) require 'legacy3.php';\n"
                "if (file_exists(__DIR__ . '/opt.php')) require __DIR__ . '/opt.php';\n"
                # Not provably dead: each of these runs on some site.
                "if (!defined('X')) require 'guard.php';\n"
                "if (PHP_VERSION_ID < 80300) require 'polyfill.php';\n"
                "if (false) {} else { require 'else.php'; }\n"
                "if (true) require 'taken.php';\n"
            ),
        },
    )
    lines = [line for _, line, _ in _reported(root, CheckOptions(use_cache=False))]
    assert lines == [8, 9, 10, 11]


def test_include_in_a_function_fails_only_if_it_fails_wherever_it_is_called(
    tmp_path: Path,
) -> None:
    # lib/page.inc is reached from two entry points; printHeader() is only ever called
    # from admin/account/edit.php (cwd admin/account/: '../../lib/header.inc' exists). The
    # top-level include of the same path fails from index.php (cwd: the root).
    root = _write(
        tmp_path,
        {
            "lib/header.inc": "<?php\n",
            "index.php": "<?php\nrequire __DIR__ . '/lib/page.inc';\n",
            "admin/account/edit.php": "<?php\nrequire __DIR__ . '/../../lib/page.inc';\n",
            "lib/page.inc": (
                "<?php\nfunction printHeader() {\n    include '../../lib/header.inc';\n}\n"
                "require '../../lib/header.inc';\n"
            ),
        },
    )
    reported = _reported(root, CheckOptions(use_cache=False))
    assert [(f, line) for f, line, _ in reported] == [("lib/page.inc", 5)]
    assert "when run from index.php" in reported[0][2]


def test_relative_include_path_entries_and_guarded_values(tmp_path: Path) -> None:
    # include_path entries relative to the working directory (NagVis's
    # '../../server/core/ext/php-gettext'), and a variable's value that the file tests
    # with is_file() before taking it (LDAP Account Manager's help.inc).
    root = _write(
        tmp_path,
        {
            "share/server/ext/gettext.inc": "<?php\n",
            "share/server/defines.php": (
                "<?php\nset_include_path(get_include_path() . PATH_SEPARATOR . '../server/ext');\n"
            ),
            "share/web/index.php": (
                "<?php\nrequire '../server/defines.php';\nrequire_once 'gettext.inc';\n"
                "$help = '../server/ext/gettext.inc';\n"
                "if (is_file('../../help.inc')) {\n    $help = '../../help.inc';\n}\n"
                "require $help;\n"
            ),
        },
    )
    assert _reported(root, CheckOptions(use_cache=False)) == []
    (root / "share/server/ext/gettext.inc").unlink()
    lines = [line for _, line, _ in _reported(root, CheckOptions(use_cache=False))]
    assert lines == [3, 8]


def test_composer_include_paths_and_a_setter_wrapper(tmp_path: Path) -> None:
    # MediaWiki's vendor/composer/autoload_real.php sets include_path from the generated
    # include_paths.php; thecodingmachine/safe wraps set_include_path($p): neither makes
    # include_path unknown, so a typo through it is reported.
    root = _write(
        tmp_path,
        {
            "vendor/pear/mail/Mail/RFC822.php": "<?php\n",
            "vendor/composer/include_paths.php": (
                "<?php\n$vendorDir = dirname(__DIR__);\n$baseDir = dirname($vendorDir);\n"
                "return array(\n    $vendorDir . '/pear/mail',\n);\n"
            ),
            "vendor/composer/autoload_real.php": (
                "<?php\n$includePaths = require __DIR__ . '/include_paths.php';\n"
                "$includePaths[] = get_include_path();\n"
                "set_include_path(implode(PATH_SEPARATOR, $includePaths));\n"
            ),
            "vendor/safe/info.php": (
                "<?php\nfunction set_include_path(string $p): string\n"
                "{\n    return \\set_include_path($p);\n}\n"
            ),
            "index.php": (
                "<?php\nrequire __DIR__ . '/vendor/composer/autoload_real.php';\n"
                "require_once 'Mail/RFC822.php';\nrequire_once 'Mail/RFC8222.php';\n"
            ),
            "tests/bootstrap.php": "<?php\nrequire __DIR__ . '/../vendor/autoload.php';\n",
        },
    )
    findings, _ = run_rule(MissingInclude, root, CheckOptions(use_cache=False))
    assert [(f.file, f.line, f.severity) for f in findings] == [
        ("index.php", 4, "error"),
        ("tests/bootstrap.php", 2, "warning"),
    ]
    assert findings[0].suggestion == "vendor/pear/mail/Mail/RFC822.php"
    assert "in a test script, not served" in findings[1].message
