"""php.outline: the installed PHP judges syntax and says which function bodies tree-sitter
may skip; the facts check reads are the same as from a whole parse, and a php that fails
costs only speed (tree-sitter parses whole, as without php)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from check_helpers import WORDPRESS, case_tree, run_rule
from premortem.cachedir import cache_dir
from premortem.check.context import CheckOptions
from premortem.php import outline as outline_module
from premortem.php.lint import php_lint
from premortem.php.outline import PHP_PARSER, PhpOutliner, parse_answer
from premortem.php.parsing import parse_tree
from premortem.php.settings import PhpSettings, installed_php
from premortem.php.syntax import LARGE_FILE_BYTES, FileFacts, extract
from premortem.php.walk import walk_tree
from premortem.rules.php_syntax import PhpSyntax

PHP = shutil.which("php")
pytestmark = pytest.mark.skipif(PHP is None, reason="needs php (installed by make test)")
DOKUWIKI = Path("/usr/share/dokuwiki")

SOURCE = b"""<?php
interface Shape { function area(); }
function plain($a) {
    $f = function () { return "{$a} ${a}"; };
    return [$f, match ($a) { 1 => 2, default => 3 }];
}
function loads() {
    require __DIR__ . '/lib.php';
}
class Box {
    const SIDE = 'x';
    public function guarded() { if (file_exists('a.php')) { echo 1; } }
    public function size() { return self::SIDE; }
}
"""


def _interior(source: bytes, marker: bytes) -> tuple[int, int]:
    """The bytes between the braces of the body that starts after `marker`."""
    opening = source.index(b"{", source.index(marker)) + 1
    depth, position = 1, opening
    while depth:
        depth += {ord("{"): 1, ord("}"): -1}.get(source[position], 0)
        position += 1
    return opening, position - 1


def _facts_key(facts: FileFacts) -> tuple[object, ...]:
    """The facts as the resolver reads them. The whole parse's word search may meet one
    call twice (Roundcube's set_include_path, also named in a string argument of the call
    after it): a repeat adds nothing, so repeats are dropped."""
    return (
        facts.includes,
        *(list(dict.fromkeys(found)) for found in (facts.defines, facts.include_paths)),
        list(dict.fromkeys(facts.chdirs)),
    )


@pytest.fixture(scope="module")
def outliner() -> PhpOutliner:
    assert PHP is not None
    shaper = PhpOutliner([PHP])
    yield shaper
    shaper.close()


def test_bodies_without_anything_check_reads_are_skipped(outliner: PhpOutliner) -> None:
    found = outliner.outline(SOURCE)
    assert found is not None and found.error is None and found.relevant
    # plain() (with its closure and match braces inside) and size() hold nothing;
    # loads() requires, guarded() calls file_exists(); area() has no body at all.
    assert found.skips == (_interior(SOURCE, b"function plain"), _interior(SOURCE, b"size()"))


def test_skipped_parse_gives_the_whole_parse_facts_and_lines(outliner: PhpOutliner) -> None:
    found = outliner.outline(SOURCE)
    assert found is not None
    whole = extract(SOURCE)
    skipped = extract(SOURCE, found.skips, syntax=False, spots=found.spots)
    assert _facts_key(skipped) == _facts_key(whole)
    # PHP names the tokens the facts hang on: no word search in the source.
    assert [word for _, word in found.spots] == [b"require", b"const", b"call"]
    assert SOURCE[found.spots[0][0] :].startswith(b"require __DIR__")
    assert [(i.line, i.column, i.source_line) for i in skipped.includes] == [
        (8, 5, "    require __DIR__ . '/lib.php';")
    ]
    assert ("Box::SIDE", ("s", "x", "'x'")) in skipped.defines


def test_a_file_with_nothing_check_reads_is_not_relevant(outliner: PhpOutliner) -> None:
    source = b"<?php\n// include this file to require nothing\nfunction f() { return 1; }\n"
    found = outliner.outline(source)
    assert found is not None and found.error is None and not found.relevant
    assert _facts_key(extract(source)) == ([], [], [], [])


GUARDS_ONLY = b"""<?php
define('ROOT', __DIR__);
function present($name) { return file_exists(ROOT . $name) && is_readable($name); }
class Probe { function linked($p) { if (is_link($p)) { return 1; } return 0; } }
"""


def test_guards_in_a_file_without_an_include_are_skipped(outliner: PhpOutliner) -> None:
    # A guard only says whether an include of its own file is guarded: without one, the
    # bodies holding only guards are skipped and the guards are not looked up.
    found = outliner.outline(GUARDS_ONLY)
    assert found is not None and found.relevant  # define() is read
    assert found.skips == (
        _interior(GUARDS_ONLY, b"function present"),
        _interior(GUARDS_ONLY, b"function linked"),
    )
    assert [word for _, word in found.spots] == [b"call"]  # define() only
    skipped = extract(GUARDS_ONLY, found.skips, syntax=False, spots=found.spots)
    assert _facts_key(skipped) == _facts_key(extract(GUARDS_ONLY))
    only_guards = GUARDS_ONLY.replace(b"define('ROOT', __DIR__);", b"")
    found = outliner.outline(only_guards)
    assert found is not None and found.error is None and not found.relevant


def test_a_guard_in_another_function_still_guards_the_include(outliner: PhpOutliner) -> None:
    source = GUARDS_ONLY + b"function boot($name) { include ROOT . $name; }\n"
    found = outliner.outline(source)
    assert found is not None
    # present() and linked() are kept: their guards are read for boot()'s include.
    assert found.skips == ()
    skipped = extract(source, found.skips, syntax=False, spots=found.spots)
    assert _facts_key(skipped) == _facts_key(extract(source))
    assert [include.guarded for include in skipped.includes] == [True]


CONSTANTS_ONLY = b"""<?php
namespace A;
use const X\\Y;
const TOP = 1, SECOND = [1, 2];
class K {
    const T = "a;b", U = self::T . "x";
    public const FOREACH = 3;
    function f() { return 1; }
}
"""


def test_a_file_of_constants_is_answered_with_their_names(outliner: PhpOutliner) -> None:
    # Parsed only when an include asks for one of them (php.constants): the names must
    # cover every constant a whole parse finds, class constants by their short name.
    found = outliner.outline(CONSTANTS_ONLY)
    assert found is not None and found.error is None and found.relevant
    assert found.constant_names == ("TOP", "SECOND", "T", "U", "FOREACH")
    whole = {name.rpartition("::")[2] for name, _ in extract(CONSTANTS_ONLY).defines}
    assert whole == set(found.constant_names)
    # Beside an include or a define(), the file is parsed as before.
    for extra in (b"require 'x.php';\n", b"define('D', 1);\n"):
        found = outliner.outline(CONSTANTS_ONLY + extra)
        assert found is not None and found.constant_names is None
    found = outliner.outline(b"<?php\nuse const X\\Y;\necho Y;\n")
    assert found is not None and found.constant_names == ()


def test_parse_error_is_the_one_php_l_prints(outliner: PhpOutliner) -> None:
    greet = case_tree("php-syntax", "fire", "unexpected-brace") / "greet.php"
    found = outliner.outline(greet.read_bytes())
    lint = php_lint(str(greet))
    assert found is not None and found.error is not None and lint is not None
    assert found.error == (lint[1], lint[2])
    assert 'unexpected token "}"' in found.error[0]


@pytest.mark.parametrize("app", [WORDPRESS, DOKUWIKI], ids=lambda p: p.name)
def test_real_applications_give_the_same_facts(outliner: PhpOutliner, app: Path) -> None:
    """Every file of Debian's WordPress and DokuWiki: the facts of the skipping parse are
    those of the whole parse (12 Debian applications, 14,645 files, were compared so)."""
    compared = skipped_bytes = 0
    for directory, _, names in os.walk(app):
        for name in names:
            path = Path(directory, name)
            if path.suffix != ".php" or not path.is_file():
                continue
            source = path.read_bytes()
            if len(source) > LARGE_FILE_BYTES:
                continue
            found = outliner.outline(source)
            assert found is not None and found.error is None, path
            whole = extract(source)
            if not found.relevant:
                assert _facts_key(whole) == ([], [], [], []), path
                skipped_bytes += len(source)
                continue
            skipped = extract(source, found.skips, syntax=False, spots=found.spots)
            assert _facts_key(skipped) == _facts_key(whole), path
            skipped_bytes += sum(end - start for start, end in found.skips)
            compared += 1
    assert compared > 50 and skipped_bytes > 0


def test_check_reports_phps_message_and_names_its_judge() -> None:
    findings, result = run_rule(PhpSyntax, case_tree("php-syntax", "fire", "unexpected-brace"))
    assert [(f.file, f.line) for f in findings] == [("greet.php", 4)]
    assert findings[0].evidence[0].source == PHP_PARSER
    assert result.stats["syntax_flagged_by_php"] == 1
    assert result.stats["syntax_flagged_by_tree_sitter"] == 0  # tree-sitter never asked


def _fake_php(tmp_path: Path, body: str) -> str:
    script = tmp_path / "php"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_a_php_that_dies_costs_only_speed(tmp_path: Path) -> None:
    shaper = PhpOutliner([_fake_php(tmp_path, "exit 3")])
    assert [shaper.outline(SOURCE) for _ in range(5)] == [None] * 5
    assert shaper.failures == outline_module.MAX_FAILURES  # then it stops trying


def test_a_php_that_hangs_is_given_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outline_module, "FILE_TIMEOUT_SECONDS", 0.5)
    shaper = PhpOutliner([_fake_php(tmp_path, "exec sleep 30")])
    started = time.monotonic()
    assert shaper.outline(SOURCE) is None
    assert time.monotonic() - started < 5
    assert shaper._proc is None  # killed, replaced on the next file


def test_check_without_php_parses_whole_with_tree_sitter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = case_tree("php-syntax", "fire", "unexpected-brace")
    with_php = parse_tree(walk_tree(str(tree)), use_cache=False, use_php=True)
    monkeypatch.setenv("PATH", str(tmp_path))  # no php to be found
    monkeypatch.setattr(outline_module, "_outliner", None)
    installed_php.cache_clear()
    try:
        without = parse_tree(walk_tree(str(tree)), use_cache=False, use_php=True)
    finally:
        monkeypatch.undo()
        installed_php.cache_clear()
    assert [f.facts.syntax_by for f in with_php.files] == [PHP_PARSER]
    assert [f.facts.syntax_by for f in without.files] == ["tree-sitter-php"]
    assert without.files[0].facts.syntax_problems  # tree-sitter's own complaint


def test_no_php_option_keeps_tree_sitters_judgement() -> None:
    alarm = case_tree("php-syntax", "fp", "tree-sitter-false-alarm")
    quiet, _ = run_rule(PhpSyntax, alarm)
    assert quiet == []
    # --no-php: the grammar alone decides, and it rejects this valid file.
    flagged, result = run_rule(
        PhpSyntax, alarm, CheckOptions(use_cache=False, confirm_with_php=False)
    )
    assert result.stats["syntax_flagged_by_tree_sitter"] == 1
    assert [f.evidence[0].source for f in flagged] == ["tree-sitter-php"]


def test_outline_php_runs_with_the_installed_parser_settings() -> None:
    """`php -n` with the tokenizer module, as fast to start as php gets, but `<?` is what
    the installed php.ini says it is (Debian: not PHP)."""
    settings = installed_php()
    assert settings is not None and PHP is not None
    asked = subprocess.run(
        [PHP, "-r", "echo (int) ini_get('short_open_tag'), ' ', ini_get('include_path');"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split(" ", 1)
    assert (int(settings.short_open_tag), settings.include_path) == (int(asked[0]), asked[1])
    if Path(settings.tokenizer_module).name == "tokenizer.so":
        assert settings.outline_command()[:2] == [settings.binary, "-n"]
    shaper = PhpOutliner(settings.outline_command())
    try:
        found = shaper.outline(b"<? require 'gone.php'; ?>\n<?php echo 1;\n")
    finally:
        shaper.close()
    assert found is not None and found.error is None
    assert found.relevant is settings.short_open_tag


def test_answer_lines_that_are_not_answers_are_refused() -> None:
    assert parse_answer(b"O 1 10 20\n") is not None
    assert parse_answer(b"E 4 syntax error, unexpected end of file\n") is not None
    assert parse_answer(b"O 1 10 20 | 3 i 40 f\n") is not None
    for garbage in (
        b"",
        b"\n",
        b"O\n",
        b"O 1 10\n",
        b"E x oops\n",
        b"Warning: x\n",
        b"O 1 a b\n",
        b"O 1 | 3\n",
        b"O 1 | 3 x\n",
        b"O 1 | a i\n",
    ):
        assert parse_answer(garbage) is None


def test_settings_written_by_an_older_premortem_are_asked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    installed_php.cache_clear()
    try:
        fresh = installed_php()
        assert fresh is not None and fresh.version_id >= 80000
        memo = cache_dir() / "php-settings.json"
        saved = json.loads(memo.read_text())
        del saved["settings"]["version_id"]  # as before PHP_VERSION_ID was asked
        memo.write_text(json.dumps(saved))
        installed_php.cache_clear()
        assert installed_php() == fresh
    finally:
        installed_php.cache_clear()


def test_a_php_older_than_8_is_not_asked_for_outlines(monkeypatch: pytest.MonkeyPatch) -> None:
    """PhpToken and PHP 8's name tokens do not exist in PHP 7: parse whole instead."""
    assert PHP is not None
    monkeypatch.setattr(outline_module, "_outliner", None)
    monkeypatch.setattr(outline_module, "installed_php", lambda: PhpSettings(PHP, version_id=70433))
    assert outline_module.outliner() is None
