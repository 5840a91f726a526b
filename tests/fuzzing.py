"""Shared Hypothesis strategies of the property (fuzz) tests: arbitrary text and bytes, and
structured mutations of real inputs (the fixtures, Debian's own config files and sources).

The settings profiles live in conftest.py: ``default`` (fast, `make test`) and ``fuzz``
(`make fuzz`, HYPOTHESIS_PROFILE=fuzz, at least 10,000 examples per parser). Every
property test is bounded per example by the profile's deadline; the slow ones (a whole
`premortem check`) ask for `slow_settings()`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from datetime import timedelta
from functools import cache
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st

TESTS = Path(__file__).parent
FIXTURES = TESTS / "fixtures"
# Real files of each kind: the fixtures first, then Debian's own when installed.
REAL_FILES: dict[str, tuple[str, ...]] = {
    "apache": (
        "fixtures/accesslog/apache/apache2.conf",
        "fixtures/accesslog/apache/sites-enabled/*.conf",
        "fixtures/diagnose/apache/apache2.conf",
        "fixtures/diagnose/apache/sites/*.conf",
        "fixtures/problems/server-config/*/*/httpd.conf",
        "/etc/apache2/apache2.conf",
        "/etc/apache2/sites-available/*.conf",
    ),
    "nginx": (
        "fixtures/accesslog/nginx/nginx.conf",
        "fixtures/diagnose/nginx/nginx.conf",
        "fixtures/diagnose/nginx/sites-enabled/*",
        "fixtures/problems/server-config/*/*/nginx.conf",
        "/etc/nginx/nginx.conf",
        "/etc/nginx/sites-available/default",
    ),
    "phpfpm": (
        "fixtures/diagnose/nginx/php-fpm/*.conf",
        "fixtures/diagnose/nginx/php-fpm/*/*.conf",
        "/etc/php/8.2/fpm/pool.d/www.conf",
        "/etc/php/8.2/fpm/php-fpm.conf",
    ),
    "phpini": ("/etc/php/8.2/fpm/php.ini", "/etc/php/8.2/cli/php.ini"),
    "php": (
        "/usr/share/wordpress/*.php",
        "/usr/share/wordpress/wp-includes/load.php",
        "/usr/share/dokuwiki/*.php",
        "fixtures/problems/missing-include/*/*/tree/*.php",
    ),
    "wpconfig": ("/usr/share/wordpress/wp-config.php", "/etc/wordpress/config-*.php"),
    "accesslog": ("fixtures/accesslog/logs/*.log",),
    "errorlog": ("fixtures/diagnose/logs/*.log", "fixtures/diagnose/lab/*/error.log"),
    "strace": ("fixtures/diagnose/trace/*.strace", "fixtures/diagnose/lab/*/trace.strace"),
    "evidence": ("fixtures/problems/*/*/*/evidence.json",),
    "findings": ("fixtures/problems/*/fire/*/expected.json",),
}
# Bytes real inputs get wrong: quotes, escapes, brackets, sections, variables, NUL, CR,
# invalid UTF-8 and a path segment longer than NAME_MAX.
NASTY = (
    '"',
    "'",
    "\\",
    "\\\n",
    "{",
    "}",
    ";",
    "[",
    "]",
    "<",
    ">",
    "</",
    "<IfModule",
    "</IfModule>",
    "<VirtualHost *:80>",
    "${",
    "${APACHE_LOG_DIR}",
    "$",
    "%",
    "%{",
    "%t",
    "#",
    "=",
    "\x00",
    "\r",
    "\n",
    "\t",
    "\udcff",
    "\ufeff",
    "/" + "a" * 300,
    "..",
    "*",
    "include",
    "Include ",
    "include = ",
    "<?php ",
    "?>",
    "require_once ",
    "__DIR__ . '/",
    "dirname(__FILE__, ",
    "0x1",
    "010",
    "(",
    ")",
    "9" * 25,
    "-1",
    "\u00b2",  # a digit to str.isdigit(), not to int()
    "é",
    "😀",
)


def _glob_real(patterns: Sequence[str]) -> list[Path]:
    found: list[Path] = []
    for pattern in patterns:
        if pattern.startswith("/"):
            anchor, relative = Path("/"), pattern[1:]
        else:
            anchor, relative = TESTS, pattern
        found += sorted(p for p in anchor.glob(relative) if p.is_file())
    return found


@cache
def real_texts(kind: str, limit: int = 12, max_bytes: int = 200_000) -> tuple[str, ...]:
    """The real inputs of one kind (at most `limit` files, each cut at `max_bytes`)."""
    texts = []
    for path in _glob_real(REAL_FILES[kind])[:limit]:
        texts.append(path.read_bytes()[:max_bytes].decode("utf-8", errors="surrogateescape"))
    assert texts, f"no real {kind} input found"
    return tuple(texts)


def _mutation(text: str, data: st.DataObject) -> str:
    """One structural edit of `text`: a line dropped, doubled or moved; a nasty token or
    random text put in; a range cut out; the text cut short."""
    lines = text.split("\n")
    kind = data.draw(st.sampled_from(("drop", "double", "swap", "insert", "cut", "truncate")))
    at = data.draw(st.integers(0, max(len(lines) - 1, 0)))
    if kind == "drop" and len(lines) > 1:
        del lines[at]
    elif kind == "double":
        lines.insert(at, lines[at])
    elif kind == "swap":
        other = data.draw(st.integers(0, len(lines) - 1))
        lines[at], lines[other] = lines[other], lines[at]
    elif kind in ("insert", "cut", "truncate"):
        position = data.draw(st.integers(0, len(text)))
        if kind == "truncate":
            return text[:position]
        if kind == "cut":
            return text[:position] + text[position + data.draw(st.integers(0, 200)) :]
        piece = data.draw(st.one_of(st.sampled_from(NASTY), st.text(max_size=20)))
        return text[:position] + piece + text[position:]
    return "\n".join(lines)


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> str:
    """A real input of `kind` with one to five mutations."""
    text = draw(st.sampled_from(real_texts(kind)))
    data = draw(st.data())
    for _ in range(draw(st.integers(1, 5))):
        text = _mutation(text, data)
    return text


def garbage_text(max_size: int = 400) -> st.SearchStrategy[str]:
    """Arbitrary text: any code point, the nasty tokens among it, and undecodable bytes."""
    return st.one_of(
        st.text(max_size=max_size),
        st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=8)), max_size=40).map("".join),
        st.binary(max_size=max_size).map(lambda b: b.decode("utf-8", errors="replace")),
    )


def any_input(kind: str, max_size: int = 400) -> st.SearchStrategy[str]:
    """What a parser of `kind` may be given: garbage or a mutated real input."""
    return st.one_of(garbage_text(max_size), mutated(kind))


def as_bytes(text: str) -> bytes:
    """Text as a file holds it (lone surrogates are the undecodable bytes they stand for)."""
    return text.encode("utf-8", errors="surrogateescape")


def clean(text: str) -> str:
    """Text a str API can take (surrogates, which no decoder leaves, made U+FFFD)."""
    return as_bytes(text).decode("utf-8", errors="replace")


@contextlib.contextmanager
def written(files: dict[str, str | bytes]) -> Iterator[Path]:
    """A fresh temporary directory holding `files` (relative name -> content)."""
    base = Path(tempfile.mkdtemp(prefix="premortem-fuzz-"))
    try:
        for name, content in files.items():
            path = base / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(as_bytes(content) if isinstance(content, str) else content)
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def slow_settings(default_examples: int = 15, fuzz_examples: int = 300) -> settings:
    """Settings of a test whose every example runs a whole command (seconds, not ms)."""
    fuzzing = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
    return settings(
        max_examples=fuzz_examples if fuzzing else default_examples,
        deadline=timedelta(seconds=30),
    )
