"""Property tests of the PHP layer: tree-sitter extraction (php.syntax), PHP's outline of
what it may skip (php.outline), the include expression evaluator (php.evaluate) and the
include resolver (php.includes).

Any source (garbage, or WordPress/DokuWiki files mutated) yields facts without an exception
and in bounded time; an include written in a known shape evaluates to its path.
"""

from __future__ import annotations

import os
import re
import shutil

from hypothesis import example, given
from hypothesis import strategies as st

from fuzzing import any_input, as_bytes, clean, garbage_text, written
from premortem.php import resolve_includes
from premortem.php.evaluate import Definition, Evaluator, parse_php_expression, php_dirname
from premortem.php.outline import PhpOutliner
from premortem.php.syntax import FileFacts, extract, extract_large

_NAME = st.from_regex(r"\A[A-Za-z0-9_-]{1,12}\.php\Z")
_EXPRESSIONS = st.one_of(
    garbage_text(80),
    st.sampled_from(
        (
            "__DIR__ . '/x.php'",
            "dirname(__FILE__, 2) . '/wp-load.php'",
            "dirname('x', 99999999999999)",
            "dirname(__DIR__, 010)",
            "dirname(__DIR__, 0b11)",
            "dirname(__DIR__, 0o7)",
            "dirname(__DIR__, 1_0)",
            "ABSPATH . WPINC . '/load.php'",
            '"$dir/x.php"',
            "realpath(__DIR__ . '/../x')",
        )
    ),
)


def _evaluate_all(facts_defines: list[tuple[str, tuple[object, ...]]], exprs: list[object]) -> None:
    defines = {name: [Definition(expr, "/srv/site/a.php")] for name, expr in facts_defines}
    evaluator = Evaluator(defines, overrides={"ABSPATH": "/srv/site/"})
    for expr in exprs:
        for value in evaluator.evaluate(expr, "/srv/site/a.php"):  # type: ignore[arg-type]
            assert isinstance(value, tuple)


@given(any_input("php", 300_000))
@example("<?php require dirname(__FILE__, 010) . '/x.php';")
@example("<?php include dirname('x', 99999999999999) . '/x.php';")
@example("<?php define('A', A . B); define('B', A); require A;")
@example("<?php require " + "(" * 3000 + "'x'" + ")" * 3000 + ";")
@example("<?php require 'a'" + " . 'a'" * 3000 + ";")
def test_extract_any_php_source(text: str) -> None:
    source = as_bytes(text)
    facts = extract(source)
    for problem in facts.syntax_problems:
        assert problem.line >= 1
    _evaluate_all(facts.defines, [i.expr for i in facts.includes] + facts.include_paths)
    large = extract_large(source)
    assert len(large.includes) <= len(facts.includes) + len(large.includes)


@given(_EXPRESSIONS)
# Found by the fuzz profile: an "unknown" expression's reason was evaluated as an expression.
@example("$=0")
def test_evaluate_any_expression(text: str) -> None:
    expr = parse_php_expression(clean(text))
    _evaluate_all([("WPINC", ("s", "wp-includes", None))], [expr])


@given(garbage_text(60), st.integers(-3, 10**15))
def test_php_dirname_is_bounded(path: str, levels: int) -> None:
    result = php_dirname(clean(path), levels)
    assert result in (".", "/") or len(result) <= len(clean(path))


@given(
    st.sampled_from(("require", "require_once", "include", "include_once")),
    st.lists(st.from_regex(r"\A[A-Za-z0-9_-]{1,10}\Z"), max_size=3),
    _NAME,
    st.sampled_from(("__DIR__ . '/{}'", 'dirname(__FILE__) . "/{}"', "'{}'")),
)
def test_include_evaluates_to_its_path(kind: str, dirs: list[str], name: str, shape: str) -> None:
    relative = "/".join([*dirs, name])
    source = f"<?php\n// header\n{kind} {shape.format(relative)};\n"
    facts = extract(source.encode())
    assert [(i.kind, i.line) for i in facts.includes] == [(kind, 3)]
    assert not facts.syntax_problems
    values = Evaluator({}).evaluate(facts.includes[0].expr, "/srv/site/index.php")
    texts = ["".join(text for text, _ in value) for value in values]
    expected = relative if shape == "'{}'" else "/srv/site/" + relative
    assert texts == [expected]


@given(any_input("php", 100_000), _NAME)
@example("<?php require __DIR__ . '/" + "a" * 300 + "/x.php';", "index.php")
@example("<?php require __DIR__ . '/\x00.php';", "index.php")
@example("<?REQUIRE:A(0=0", "0.php")  # found by the fuzz profile (the same bug as "$=0")
def test_include_resolver_takes_any_tree(text: str, name: str) -> None:
    with written({name: text, "lib/real.php": "<?php\n"}) as root:
        os.symlink("missing.php", root / "dangling.php")
        for site in resolve_includes(root, use_cache=False):
            site.missing, site.fatal, site.resolved  # noqa: B018
            if site.missing:
                site.missing_candidate  # noqa: B018


_OUTLINER: list[PhpOutliner] = []
# `<?` not followed by `php` and a space (or `=`): PHP code only with short_open_tag on.
_SHORT_OPEN_TAG = re.compile(rb"<\?(?!php(?:\s|$)|=)", re.IGNORECASE)


def _outliner() -> PhpOutliner | None:
    """One php process for the whole run of the property below (started on first use)."""
    if not _OUTLINER:
        php = shutil.which("php")
        if php is None:
            return None
        _OUTLINER.append(PhpOutliner([php]))
    return _OUTLINER[0]


@given(any_input("php", 300_000))
@example("<?php function a() { $x = \"{$y} ${z}\"; } require 'b.php';")
@example("<?php abstract class A { abstract function f(); function g() { return 1; } }")
@example("<?php function a() { function b() { define('X', 1); } }")
# Found by the fuzz profile: `<?` is HTML to PHP with short_open_tag off, PHP to tree-sitter.
@example("<?/**/REQUIRE!0;")
@example("<?PHP/**/DEFINE(0,0);//")  # `<?php` needs a space after it, for PHP
@example("<?php class K { const A = 'x;y', B = [1, 2], C = self::A; } const D = 1;")
def test_outline_keeps_every_fact_of_a_whole_parse(text: str) -> None:
    """Whatever the source, PHP's outline either refuses it, or the parse that skips the
    bodies it names gives the facts of the whole parse (the whole parse being clean)."""
    shaper = _outliner()
    if shaper is None:
        return  # no php: check parses whole, there is nothing to compare
    source = as_bytes(text)
    found = shaper.outline(source)
    assert found is not None  # php answers for any input, or says it cannot parse it
    whole = extract(source)
    if found.error is not None or whole.syntax_problems:
        return  # a file PHP refuses is parsed whole; tree-sitter's false alarms differ
    if _SHORT_OPEN_TAG.search(source):
        return  # `<?` is PHP only with short_open_tag on (PHP's view is the one kept)
    assert all(0 <= start < end <= len(source) for start, end in found.skips)
    if found.constant_names is not None:  # parsed only if an include asks for a name
        assert not (whole.includes or whole.include_paths or whole.chdirs)
        assert {name.rpartition("::")[2] for name, _ in whole.defines} <= set(found.constant_names)
    facts = FileFacts()
    if found.relevant:
        facts = extract(source, found.skips, syntax=False, spots=found.spots)
    # Repeats dropped: the whole parse's word search may meet one call twice.
    assert [
        facts.includes,
        *(list(dict.fromkeys(f)) for f in (facts.defines, facts.include_paths, facts.chdirs)),
    ] == [
        whole.includes,
        *(list(dict.fromkeys(f)) for f in (whole.defines, whole.include_paths, whole.chdirs)),
    ]
