"""Parsing and static evaluation of include expressions (premortem.php)."""

from __future__ import annotations

from pathlib import Path

import pytest

from premortem.php.evaluate import Definition, Evaluator, php_dirname, value_text
from premortem.php.suggest import edit_distance, literal_edit
from premortem.php.syntax import extract


def test_extract_includes_defines_consts_guards() -> None:
    source = b"""<?php
define( 'ABSPATH', __DIR__ . '/' );
const WPINC = 'wp-includes';
class A { const NOT_GLOBAL = 'x'; }
if ( file_exists( ABSPATH . 'local.php' ) ) { include ABSPATH . 'local.php'; }
require_once( ABSPATH . WPINC . "/version.php" );
@include_once 'quiet.php';
my_require( 'not-an-include.php' );
set_include_path( __DIR__ . '/lib' );
"""
    facts = extract(source)
    # A class constant is known by its class's name, never as a global constant.
    assert [name for name, _ in facts.defines] == ["ABSPATH", "WPINC", "A::NOT_GLOBAL"]
    kinds = [(i.kind, i.line, i.guarded, i.suppressed) for i in facts.includes]
    assert kinds == [
        ("include", 5, True, False),
        ("require_once", 6, False, False),
        ("include_once", 7, False, True),
    ]
    assert facts.includes[1].expression == '( ABSPATH . WPINC . "/version.php" )'
    assert facts.includes[1].expr == (
        "cat",
        (("const", "ABSPATH"), ("const", "WPINC"), ("s", "/version.php", '"/version.php"')),
    )
    assert len(facts.include_paths) == 1
    assert facts.syntax_problems == []


def test_extract_is_case_insensitive_like_php() -> None:
    # PHP keywords and function names ignore case; old code writes REQUIRE_ONCE, Define().
    source = b"""<?php
Define( 'LIB', __DIR__ . '/lib' );
CONST ROOT = '/srv';
REQUIRE_ONCE LIB . '/a.php';
Include_Once( ROOT . '/b.php' );
Set_Include_Path( LIB );
"""
    facts = extract(source)
    assert [name for name, _ in facts.defines] == ["LIB", "ROOT"]
    assert [(i.kind, i.line) for i in facts.includes] == [
        ("require_once", 4),
        ("include_once", 5),
    ]
    assert len(facts.include_paths) == 1


def test_extract_reports_syntax_problem_line() -> None:
    facts = extract(b"<?php\nfunction f() {\n  return 1\n}\n")
    assert facts.syntax_problems and facts.syntax_problems[0].line in (3, 4)


def test_extract_survives_invalid_utf8_and_html() -> None:
    facts = extract(b"<html>\xff\xfe<?php require __DIR__ . '/\xe9t\xe9.php'; ?></html>")
    assert len(facts.includes) == 1


@pytest.mark.parametrize(
    ("path", "levels", "expected"),
    [
        ("/a/b/c.php", 1, "/a/b"),
        ("/a/b/", 1, "/a"),
        ("/a/b/c", 2, "/a"),
        ("/a", 1, "/"),
        ("x", 1, "."),
    ],
)
def test_php_dirname(path: str, levels: int, expected: str) -> None:
    assert php_dirname(path, levels) == expected


def test_constant_with_several_definitions_and_cycles() -> None:
    defines = {
        "ROOT": [
            Definition(("cat", (("magic", "__DIR__"), ("s", "/", None))), "/srv/a/wp-load.php"),
            Definition(("s", "/usr/share/wordpress/", None), "/etc/wordpress/config.php"),
        ],
        "LOOP": [Definition(("cat", (("const", "LOOP"), ("s", "x", None))), "/x.php")],
    }
    evaluator = Evaluator(defines)
    values = evaluator.evaluate(
        ("cat", (("const", "ROOT"), ("s", "wp-settings.php", "'wp-settings.php'"))),
        "/srv/a/index.php",
    )
    assert [value_text(v) for v in values] == [
        "/srv/a/wp-settings.php",
        "/usr/share/wordpress/wp-settings.php",
    ]
    assert evaluator.constant("LOOP") == []
    assert evaluator.constant("DIRECTORY_SEPARATOR") == [(("/", None),)]


def test_edit_distance_counts_a_swap_as_one() -> None:
    assert edit_distance("locale", "lcoale") == 1
    assert edit_distance("locale", "locale") == 0
    assert edit_distance("abc", "xyz", limit=2) == 2


def test_literal_edit_touches_only_the_literal_with_the_typo() -> None:
    segments = (
        ("/srv/wp/", None),
        ("wp-includes", None),
        ("/class-wp-locale.phpp", "'/class-wp-locale.phpp'"),
    )
    assert literal_edit(
        segments,
        "/srv/wp/wp-includes/class-wp-locale.phpp",
        "/srv/wp/wp-includes/class-wp-locale.php",
    ) == ("'/class-wp-locale.phpp'", "'/class-wp-locale.php'")
    # The typo is in a constant's value, not in a literal of this line: no edit.
    assert (
        literal_edit(
            segments,
            "/srv/wp/wp-includes/class-wp-locale.phpp",
            "/srv/wq/wp-includes/class-wp-locale.phpp",
        )
        is None
    )


def test_large_file_facts_match_the_whole_parse() -> None:
    from premortem.php.syntax import extract_large

    source = (
        b"<?php\n$data = [\n"
        + b"  'x' => 1,\n" * 50
        + b"];\nrequire_once __DIR__ . '/a.php'; define('X', 'y'); require 'c.php';\n"
        + b"  include 'b.php';\n"
    )
    whole, large = extract(source), extract_large(source)
    assert large.includes == whole.includes
    assert large.defines == whole.defines
    assert [(i.line, i.column) for i in large.includes] == [(54, 1), (54, 52), (55, 3)]


def test_large_files_are_linted_by_php_not_parsed_whole(tmp_path: Path) -> None:
    from premortem.check.context import CheckOptions
    from premortem.check.runner import run_check

    filler = b"  'k' => 1,\n" * 100_000  # ~1.2 MB of generated data
    (tmp_path / "ok.php").write_bytes(
        b"<?php\nrequire __DIR__ . '/gone.php';\nreturn [\n" + filler + b"];\n"
    )
    (tmp_path / "bad.php").write_bytes(b"<?php\nreturn [\n" + filler + b"]\n}\n")
    result = run_check(tmp_path, CheckOptions(use_cache=False))
    found = {(f.rule, f.file, f.line) for f in result.findings}
    assert ("missing-include", "ok.php", 2) in found
    assert ("php-syntax", "bad.php", 100_004) in found
    assert len(result.findings) == 2
