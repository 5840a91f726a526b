"""Static evaluation of include expressions: constants, magic constants, dirname(), `.`.

A value is a tuple of segments `(text, raw)`: `raw` is the source text of the string
literal of the include expression that produced `text` (None for text that came from
anywhere else), so that a did-you-mean can be turned into an edit of that literal.
Evaluation returns every value the expression can take, bounded: a constant with several
definitions contributes each of them.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import product

from premortem.php.knowledge import BUILTIN_CONSTANTS, DEFAULT_INCLUDE_PATH, PROFILES, AppProfile
from premortem.php.settings import installed_php
from premortem.php.syntax import Expr, map_parts, parser, sub_expressions, to_expr

Segment = tuple[str, str | None]
Value = tuple[Segment, ...]

# Bound on the values one expression can take (constants with many definitions multiply).
MAX_VALUES = 24


def value_text(value: Value) -> str:
    return "".join(text for text, _ in value)


def php_dirname(path: str, levels: int = 1) -> str:
    """PHP's dirname(): trailing slashes ignored, '.' for a bare name, '/' stays '/'."""
    for _ in range(max(levels, 1)):
        stripped = path.rstrip("/")
        if not stripped:
            return "/" if path.startswith("/") else "."
        head = posixpath.dirname(stripped)
        parent = (head.rstrip("/") or "/") if head else "."
        if parent == path:  # "." has no parent: dirname('x', 10**12) stops here
            return path
        path = parent
    return path


@lru_cache(maxsize=256)
def parse_php_expression(source: str) -> Expr:
    """The expression tree of a PHP expression given as text (knowledge data, --define)."""
    tree = parser().parse(f"<?php {source};".encode())
    statement = tree.root_node.named_children[-1]
    if statement.type != "expression_statement" or not statement.named_children:
        return ("unknown", "not an expression")
    return to_expr(statement.named_children[0])


def default_include_path() -> str:
    """include_path from the installed php.ini (php.settings), else PHP's Debian default."""
    settings = installed_php()
    return settings.include_path if settings is not None else DEFAULT_INCLUDE_PATH


def alternatives(expr: Expr, limit: int = MAX_VALUES) -> list[Expr]:
    """`expr` once per value of its local variables (each "alt" replaced by one option)."""
    if expr[0] == "alt":
        return [v for option in expr[1] for v in alternatives(option, limit)][:limit]
    variants: list[Expr] = [expr]
    for part in sub_expressions(expr):
        options = alternatives(part, limit)
        if options == [part]:
            continue
        variants = [
            map_parts(variant, _replacing(part, option))
            for variant in variants
            for option in options
        ][:limit]
    return variants


def _replacing(old: Expr, new: Expr) -> Callable[[Expr], Expr]:
    return lambda part: new if part is old else part


@dataclass(frozen=True)
class Definition:
    expr: Expr
    context: str  # real path of the file the definition is written in (for __DIR__)


def detect_profiles(root: str, php_dirs: Iterable[str]) -> list[tuple[AppProfile, str]]:
    """Application profiles whose markers exist at the root or in a directory holding PHP."""
    found: list[tuple[AppProfile, str]] = []
    candidates = {root, *php_dirs}
    for profile in PROFILES:
        if not profile.markers:
            found.append((profile, root))
            continue
        for directory in sorted(candidates):
            if all(os.path.exists(os.path.join(directory, m)) for m in profile.markers):
                found.append((profile, directory))
    return found


class Evaluator:
    """Evaluates expressions against the constants defined in a tree (plus knowledge)."""

    def __init__(
        self,
        defines: Mapping[str, list[Definition]],
        *,
        variables: Mapping[str, list[Definition]] | None = None,
        overrides: Mapping[str, str] | None = None,
        include_path: str = DEFAULT_INCLUDE_PATH,
    ) -> None:
        self.defines = defines
        self.variables = variables or {}
        self.overrides = dict(overrides or {})
        # What get_include_path() answers before the code changes it (php.ini's value).
        self.include_path = include_path
        self._constant_cache: dict[str, list[Value]] = {}
        self._in_progress: set[str] = set()

    def constant(self, name: str) -> list[Value]:
        if name in self.overrides:
            return [((self.overrides[name], None),)]
        if name in BUILTIN_CONSTANTS:
            return [((BUILTIN_CONSTANTS[name], None),)]
        cached = self._constant_cache.get(name)
        if cached is not None:
            return cached
        if name in self._in_progress:
            return []  # define('A', A . 'x'): a cycle has no static value
        self._in_progress.add(name)
        try:
            values = self._definitions_values(self.defines.get(name, []))
        finally:
            self._in_progress.discard(name)
        self._constant_cache[name] = values
        return values

    def _definitions_values(self, definitions: list[Definition]) -> list[Value]:
        values: list[Value] = []
        seen: set[str] = set()
        for definition in definitions:
            for value in self.evaluate(definition.expr, definition.context, keep_raw=False):
                text = value_text(value)
                if text not in seen:
                    seen.add(text)
                    values.append(((text, None),))
                if len(values) >= MAX_VALUES:
                    return values
        return values

    def evaluate(self, expr: Expr, context: str, *, keep_raw: bool = True) -> list[Value]:
        """Every value `expr` can take in the file `context` (a real path); [] if unknown."""
        kind = expr[0]
        if kind == "s":
            return [((str(expr[1]), expr[2] if keep_raw else None),)]
        if kind == "magic":
            return [((context if expr[1] == "__FILE__" else posixpath.dirname(context), None),)]
        if kind == "const":
            return self.constant(str(expr[1]))
        if kind == "var":
            name = str(expr[1])
            if name in self.variables:
                return self._definitions_values(self.variables[name])
            return []
        if kind == "include_path":
            return [((self.include_path, None),)]
        if kind == "cat":
            return self._concatenations(expr[1], context, keep_raw)
        if kind == "alt":
            return self._alternatives(expr[1], context, keep_raw)
        return self._function(expr, context)

    def _function(self, expr: Expr, context: str) -> list[Value]:
        """dirname(), realpath(), basename(), sprintf(), str_replace() of known values."""
        kind = expr[0]
        if kind == "sprintf":
            return self._texts(
                (_sprintf(fmt, args) for fmt, *args in self._products((expr[1], *expr[2]), context))
            )
        if kind == "replace":
            return self._texts(
                text.replace(search, replacement)
                for search, replacement, text in self._products(expr[1:], context)
            )
        if kind not in ("dirname", "realpath", "basename"):
            return []  # "unknown", "nonstring": no value (their second item is a reason)
        inner = self.evaluate(expr[1], context, keep_raw=False)
        if kind == "dirname":
            return [((php_dirname(value_text(v), int(expr[2])), None),) for v in inner]
        if kind == "realpath":
            return [((posixpath.normpath(value_text(v)), None),) for v in inner]
        return [((posixpath.basename(value_text(v).rstrip("/")), None),) for v in inner]

    def _products(self, parts: tuple[Expr, ...], context: str) -> list[list[str]]:
        """Each combination of the parts' values, as texts (bounded); [] if one is unknown."""
        evaluated = [self.evaluate(part, context, keep_raw=False) for part in parts]
        if any(not values for values in evaluated):
            return []
        combos: list[list[str]] = []
        for combo in product(*evaluated):
            combos.append([value_text(value) for value in combo])
            if len(combos) >= MAX_VALUES:
                break
        return combos

    @staticmethod
    def _texts(texts: Iterable[str | None]) -> list[Value]:
        values: list[Value] = []
        for text in texts:
            if text is None:
                return []  # one value not computable: the whole is unknown
            values.append(((text, None),))
        return values

    def _concatenations(self, parts: tuple[Expr, ...], context: str, keep_raw: bool) -> list[Value]:
        evaluated = [self.evaluate(part, context, keep_raw=keep_raw) for part in parts]
        if any(not p for p in evaluated):
            return []
        results: list[Value] = []
        for combo in product(*evaluated):
            merged: list[Segment] = []
            for value in combo:
                merged.extend(value)
            results.append(tuple(merged))
            if len(results) >= MAX_VALUES:
                break
        return results

    def _alternatives(self, options: tuple[Expr, ...], context: str, keep_raw: bool) -> list[Value]:
        """The values of a local variable: all of them known, or unknown."""
        results: list[Value] = []
        for option in options:
            values = self.evaluate(option, context, keep_raw=keep_raw)
            if not values:
                return []
            results.extend(v for v in values if v not in results)
        return results[:MAX_VALUES]


def _sprintf(fmt: str, args: list[str]) -> str | None:
    """PHP's sprintf() for %s, %d, %% and numbered %1$s; None for anything else."""
    out: list[str] = []
    position = 0
    index = 0
    while index < len(fmt):
        char = fmt[index]
        if char != "%":
            out.append(char)
            index += 1
            continue
        match = _SPRINTF_SPEC.match(fmt, index)
        if match is None:
            return None
        index = match.end()
        if match.group(2) == "%":
            out.append("%")
            continue
        number = int(match.group(1)) - 1 if match.group(1) else position
        if not match.group(1):
            position += 1
        if number >= len(args):
            return None
        out.append(args[number])
    return "".join(out)


_SPRINTF_SPEC = re.compile(r"%(?:(\d+)\$)?([sd%])")
