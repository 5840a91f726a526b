"""Parse PHP with tree-sitter-php and pull out the facts the rules need.

Everything returned is plain picklable data (tuples, dataclasses) so that files can be
parsed in worker processes and the results cached by content hash.

Include expressions become a small expression tree (`Expr`, nested tuples):

    ("s", value, raw)          string literal; raw is the source text with its quotes
    ("cat", (e1, e2, ...))     `.` concatenation or an interpolated "..." string
    ("magic", "__DIR__")       __DIR__ / __FILE__
    ("const", "NAME")          a constant (define()/const, PHP built-ins, --define)
    ("dirname", e, levels)     dirname(e[, levels])
    ("realpath", e)            realpath(e): the same path, normalised
    ("var", "name")            a variable not known locally (knowledge data may know it)
    ("alt", (e1, e2, ...))     the values a local variable can hold there (php.locals)
    ("include_path",)          get_include_path() / ini_get('include_path')
    ("sprintf", fmt, (args))   sprintf() with %s / %d conversions
    ("replace", s, r, subject) str_replace() of strings
    ("basename", e)            basename(e)
    ("nonstring", what)        an array, object, bool or null: not a path PHP can open
    ("unknown", "why")         anything else: the include is skipped and counted
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import tree_sitter
import tree_sitter_php

from premortem.php.deadcode import in_dead_branch, in_function, without_guarded
from premortem.php.locals import MAX_DEPTH, reaching_values

Expr = tuple[Any, ...]

INCLUDE_KINDS: dict[str, str] = {
    "include_expression": "include",
    "include_once_expression": "include_once",
    "require_expression": "require",
    "require_once_expression": "require_once",
}
# Calls that test a path before it is included: `if (file_exists(X)) require X;`.
GUARD_FUNCTIONS = frozenset(
    {"file_exists", "is_file", "is_readable", "stream_resolve_include_path", "is_link"}
)
# Calls whose first argument is a new include_path.
INCLUDE_PATH_SETTERS = frozenset({"set_include_path"})


@dataclass(frozen=True)
class RawInclude:
    """One include/require statement as written, before resolution."""

    kind: str
    line: int  # 1-based
    column: int  # 1-based, of the include keyword
    expr: Expr
    expression: str  # source text of the path expression
    source_line: str
    # the same path is tested with file_exists()/is_file()/... in this file, or the
    # include is in a branch that never runs (php.deadcode)
    guarded: bool
    suppressed: bool  # written as @include: PHP reports nothing if it fails
    # inside a function or method: runs only when called, from wherever it is called
    in_function: bool = False


@dataclass(frozen=True)
class SyntaxProblem:
    line: int
    column: int
    message: str


@dataclass
class FileFacts:
    """What one PHP file contributes to the analysis."""

    includes: list[RawInclude] = field(default_factory=list)
    defines: list[tuple[str, Expr]] = field(default_factory=list)
    include_paths: list[Expr] = field(default_factory=list)
    # chdir() calls: (line, new working directory), for the relative includes after them.
    chdirs: list[tuple[int, Expr]] = field(default_factory=list)
    syntax_problems: list[SyntaxProblem] = field(default_factory=list)
    # `php -l`'s verdict (ok, message, line) once asked (only for files with problems);
    # cached with the rest so that a re-run does not spawn php again.
    php_lint: tuple[bool, str | None, int | None] | None = None
    # Who judged the syntax: the installed PHP's parser (php.outline) or tree-sitter-php.
    syntax_by: str = "tree-sitter-php"
    # A file whose only needles are const declarations is not parsed during the check:
    # the names (short: NAME for Class::NAME) it declares, for php.constants to parse it
    # when an include asks for one. Its `defines` are then empty.
    pending_constants: tuple[str, ...] = ()


@lru_cache(maxsize=1)
def parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_php.language_php()))


@lru_cache(maxsize=1)
def ranged_parser() -> tree_sitter.Parser:
    """A second parser for parses with included ranges: the first keeps the whole file."""
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_php.language_php()))


def _text(node: tree_sitter.Node) -> str:
    # surrogateescape: a name that is not UTF-8 keeps its bytes (os.fsencode gives them back)
    return (node.text or b"").decode("utf-8", "surrogateescape")


def _unquote_single(raw: str) -> str:
    body = raw[1:-1]
    return body.replace("\\\\", "\x00").replace("\\'", "'").replace("\x00", "\\")


_DOUBLE_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "$": "$", '"': '"', "r": "\r", "0": "\0"}


def _unescape_double(body: str) -> str:
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] in _DOUBLE_ESCAPES:
            out.append(_DOUBLE_ESCAPES[body[i + 1]])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _call_name(node: tree_sitter.Node) -> str | None:
    function = node.child_by_field_name("function")
    if function is None or function.type not in ("name", "qualified_name"):
        return None
    return _text(function).lstrip("\\").lower()


def _call_args(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    arguments = node.child_by_field_name("arguments")
    if arguments is None:
        return []
    result: list[tree_sitter.Node] = []
    for arg in arguments.named_children:
        if arg.type == "argument":
            # Named arguments (`levels: 2`) have a name child before the value.
            value = arg.named_children[-1] if arg.named_children else None
            if value is not None:
                result.append(value)
        elif arg.type != "comment":
            result.append(arg)
    return result


# Deeper than this (3,000 nested parentheses, a chain of 3,000 concatenations) an
# expression has no static value: recursing further overflowed Python's stack.
MAX_EXPR_DEPTH = 100


def to_expr(node: tree_sitter.Node, depth: int = 0) -> Expr:
    """The expression tree of a PHP expression node (see the module docstring)."""
    if depth > MAX_EXPR_DEPTH:
        return ("unknown", "nested too deeply")
    kind = node.type
    if kind == "parenthesized_expression" and node.named_child_count == 1:
        child = node.named_children[0]
        return to_expr(child, depth + 1)
    if kind == "string":
        raw = _text(node)
        if raw.startswith("'") and raw.endswith("'"):
            return ("s", _unquote_single(raw), raw)
        return ("unknown", "string")
    if kind == "encapsed_string":
        raw = _text(node)
        parts: list[Expr] = []
        for child in node.named_children:
            if child.type in ("string_content", "string_value") or child.type == "escape_sequence":
                parts.append(("s", _unescape_double(_text(child)), None))
            elif child.type == "variable_name":
                parts.append(("var", _text(child).lstrip("$")))
            else:
                parts.append(("unknown", child.type))
        if len(parts) == 1 and parts[0][0] == "s":
            # A plain "..." literal: keep its source text so that it can be edited.
            return ("s", parts[0][1], raw)
        if not parts:
            return ("s", "", raw)
        return ("cat", tuple(parts))
    if kind == "binary_expression":
        operator = node.child_by_field_name("operator")
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        if operator is not None and operator.type == "." and left is not None and right is not None:
            items: list[Expr] = []
            for side in (to_expr(left, depth + 1), to_expr(right, depth + 1)):
                if side[0] == "cat":
                    items.extend(side[1])
                else:
                    items.append(side)
            return ("cat", tuple(items))
        return ("unknown", "operator")
    if kind in _NON_STRINGS:
        return ("nonstring", _NON_STRINGS[kind])
    if kind in ("integer", "float"):
        return ("s", _text(node), None)  # PHP opens the number as a file name
    if kind == "class_constant_access_expression":
        return _class_constant(node)
    if kind == "name" or kind == "qualified_name":
        name = _text(node).lstrip("\\")
        if name in ("__DIR__", "__FILE__"):
            return ("magic", name)
        return ("const", name)
    if kind == "variable_name":
        return ("var", _text(node).lstrip("$"))
    if kind == "function_call_expression":
        function_name = _call_name(node)
        args = _call_args(node)
        if function_name == "dirname" and args:
            levels = 1
            if len(args) > 1:
                parsed = _php_integer(_text(args[1])) if args[1].type == "integer" else None
                if parsed is None:
                    return ("unknown", "dirname levels")
                levels = parsed
            return ("dirname", to_expr(args[0], depth + 1), levels)
        if function_name == "realpath" and len(args) == 1:
            return ("realpath", to_expr(args[0], depth + 1))
        return _call_expr(function_name, [to_expr(arg, depth + 1) for arg in args])
    return ("unknown", kind)


_NON_STRINGS = {
    "array_creation_expression": "an array",
    "object_creation_expression": "an object",
    "boolean": "a boolean",
    "null": "null",
}


def _call_expr(function_name: str | None, args: list[Expr]) -> Expr:
    """The calls whose result check can compute from their arguments."""
    if function_name == "get_include_path" and not args:
        return ("include_path",)
    if function_name == "ini_get" and args and _strip_raw(args[0]) == ("s", "include_path", None):
        return ("include_path",)
    if function_name == "sprintf" and args:
        return ("sprintf", args[0], tuple(args[1:]))
    if function_name == "str_replace" and len(args) == 3:
        return ("replace", args[0], args[1], args[2])
    if function_name == "basename" and len(args) == 1:
        return ("basename", args[0])
    return ("unknown", f"call {function_name}")


def _class_constant(node: tree_sitter.Node) -> Expr:
    """`Name::CONST` or `self::CONST` (inside class Name): the constant "Name::CONST"."""
    if node.named_child_count != 2:
        return ("unknown", "class constant")
    scope, constant = node.named_children
    if scope.type == "relative_scope":
        if _text(scope).lower() != "self":
            return ("unknown", "static or parent constant")
        owner = _enclosing_class_name(node)
        if owner is None:
            return ("unknown", "self outside a class")
        return ("const", f"{owner}::{_text(constant)}")
    if scope.type not in ("name", "qualified_name"):
        return ("unknown", "class constant")
    return ("const", f"{_text(scope).rsplit(chr(92), 1)[-1]}::{_text(constant)}")


_CLASS_TYPES = frozenset(
    {"class_declaration", "interface_declaration", "trait_declaration", "enum_declaration"}
)


def _enclosing_class_name(node: tree_sitter.Node) -> str | None:
    current = node.parent
    while current is not None and current.type not in _CLASS_TYPES:
        current = current.parent
    name = current.child_by_field_name("name") if current is not None else None
    return _text(name) if name is not None else None


def _php_integer(text: str) -> int | None:
    """A PHP integer literal's value: 0x1F, 0b11, 0o17, 017 (octal: Python's int(, 0)
    refuses it), 1_000; None for what int() cannot take (over 4,300 digits)."""
    digits = text.replace("_", "").lower()
    try:
        if digits.startswith(("0x", "0b", "0o")):
            return int(digits, 0)
        return int(digits, 8) if len(digits) > 1 and digits.startswith("0") else int(digits)
    except ValueError:
        return None


def _define_of(node: tree_sitter.Node) -> tuple[str, Expr] | None:
    if _call_name(node) != "define":
        return None
    args = _call_args(node)
    if len(args) < 2:
        return None
    name_expr = to_expr(args[0])
    if name_expr[0] != "s":
        return None
    return (str(name_expr[1]), to_expr(args[1]))


# Where the facts can be: the parse tree is only visited at these byte offsets, because
# walking every node of every file from Python costs more than parsing them (bytes.find
# runs at memchr speed; a regular expression with alternatives is ten times slower).
_NEEDLES: tuple[bytes, ...] = (b"include", b"require", b"define", b"const", b"chdir")
# Guards only matter to a file's own includes: not looked for in a file without any.
_GUARD_NEEDLES: tuple[bytes, ...] = (b"file_exists", b"is_file", b"is_readable")


def _hotspots(source: bytes) -> list[tuple[int, bytes]]:
    """Offsets of the needles in the lowered source (PHP keywords and function names are
    case-insensitive: REQUIRE_ONCE and Define() count; ASCII lowering keeps offsets)."""
    source = source.lower()
    found: list[tuple[int, bytes]] = []
    for needle in _NEEDLES:
        start = source.find(needle)
        while start != -1:
            found.append((start, needle))
            start = source.find(needle, start + len(needle))
    # `found` is in needle order: it starts with an include or require if there is one.
    if found and found[0][1] in (b"include", b"require"):
        for needle in _GUARD_NEEDLES:
            start = source.find(needle)
            while start != -1:
                found.append((start, needle))
                start = source.find(needle, start + len(needle))
    found.sort()
    return found


def _searched_spots(source: bytes, skips: Sequence[tuple[int, int]]) -> Iterator[tuple[int, bytes]]:
    """The hotspots that are whole words (or include_path setters), outside `skips`, with
    the word extract() reads them as: include, require, const or call."""
    for offset, word in _hotspots(source):
        if skips and _inside(skips, offset):
            continue
        is_include_path = (
            word == b"include" and source[offset + 7 : offset + 12].lower() == b"_path"
        )
        # Part of a longer name (my_require) does not count; set_include_path & co. do.
        inside_name = offset and (source[offset - 1 : offset].isalnum() or source[offset - 1] == 95)
        if inside_name and not is_include_path:
            continue
        if is_include_path or word not in (b"include", b"require", b"const"):
            word = b"call"
        yield offset, word


def _enclosing(
    node: tree_sitter.Node | None, types: frozenset[str], depth: int = 4
) -> tree_sitter.Node | None:
    while node is not None and depth >= 0:
        if node.type in types:
            return node
        node = node.parent
        depth -= 1
    return None


_INCLUDE_TYPES = frozenset(INCLUDE_KINDS)
_CALL_TYPES = frozenset({"function_call_expression"})
_CONST_TYPES = frozenset({"const_declaration"})


def extract(
    source: bytes,
    skips: Sequence[tuple[int, int]] = (),
    *,
    syntax: bool = True,
    spots: Sequence[tuple[int, bytes]] | None = None,
) -> FileFacts:
    """Parse one PHP file and collect its includes, constants and syntax problems.

    `skips` are byte ranges tree-sitter leaves out (the function bodies php.outline found
    without anything the analysis reads); `syntax=False` when PHP has judged the syntax;
    `spots` are the offsets of the tokens the facts hang on, with their word (include,
    require, const, call), when PHP's tokenizer found them: else they are searched for.
    """
    root = _parse(source, skips)
    facts = FileFacts()
    includes: list[tuple[tree_sitter.Node, str, bool]] = []
    guards: set[Expr] = set()
    seen: set[int] = set()

    for offset, word in _searched_spots(source, skips) if spots is None else spots:
        leaf = root.descendant_for_byte_range(offset, offset + 1)
        if word in (b"include", b"require"):
            node = _enclosing(leaf, _INCLUDE_TYPES, 1)
            if node is None or node.start_byte in seen:
                continue
            seen.add(node.start_byte)
            parent = node.parent
            suppressed = parent is not None and parent.type == "error_suppression_expression"
            includes.append((node, INCLUDE_KINDS[node.type], suppressed))
        elif word == b"const":
            _note_const(_enclosing(leaf, _CONST_TYPES, 1), facts)
        else:
            _note_call(_enclosing(leaf, _CALL_TYPES, 5), facts, guards, source)

    if syntax and root.has_error:
        facts.syntax_problems.extend(_syntax_problems(root))
    facts.includes = [
        found
        for node, kind, suppressed in includes
        if (found := _raw_include(source, node, kind, suppressed, guards)) is not None
    ]
    facts.includes.sort(key=lambda inc: (inc.line, inc.column))
    return facts


def _parse(source: bytes, skips: Sequence[tuple[int, int]]) -> tree_sitter.Node:
    """The syntax tree of `source`, without the `skips` ranges (each an empty body then)."""
    if not skips:
        return parser().parse(source).root_node
    ranged = ranged_parser()
    ranged.included_ranges = _included_ranges(source, skips)
    return ranged.parse(source).root_node


def _included_ranges(source: bytes, skips: Sequence[tuple[int, int]]) -> list[tree_sitter.Range]:
    """The complement of `skips` in `source`, with the (row, byte column) points
    tree-sitter needs to number lines as in the whole file."""
    ranges: list[tree_sitter.Range] = []
    start = row = line_start = 0
    counted = 0

    def point(offset: int) -> tuple[int, int]:
        nonlocal row, line_start, counted
        newlines = source.count(b"\n", counted, offset)
        if newlines:
            row += newlines
            line_start = source.rfind(b"\n", counted, offset) + 1
        counted = offset
        return (row, offset - line_start)

    start_point = (0, 0)
    for skip_start, skip_end in skips:
        ranges.append(tree_sitter.Range(start_point, point(skip_start), start, skip_start))
        start, start_point = skip_end, point(skip_end)
    ranges.append(tree_sitter.Range(start_point, point(len(source)), start, len(source)))
    return ranges


def _inside(skips: Sequence[tuple[int, int]], offset: int) -> bool:
    index = bisect.bisect_right(skips, (offset, _NO_END)) - 1
    return index >= 0 and skips[index][0] <= offset < skips[index][1]


_NO_END = 1 << 62


def _note_const(node: tree_sitter.Node | None, facts: FileFacts) -> None:
    """`const NAME = value;` at the top level (or in a namespace): a global constant; in a
    class, interface, trait or enum: "Class::NAME"."""
    if node is None or node.parent is None:
        return
    if node.parent.type == "declaration_list":
        owner = _enclosing_class_name(node)
        if owner is not None:
            for element in node.named_children:
                if element.type == "const_element" and element.named_child_count >= 2:
                    name = f"{owner}::{_text(element.named_children[0])}"
                    facts.defines.append((name, to_expr(element.named_children[-1])))
        return
    # Top-level (or namespaced) constants only; class constants are not global.
    if node.parent.type not in ("program", "namespace_definition", "compound_statement"):
        return
    if node.parent.type == "compound_statement" and (
        node.parent.parent is None or node.parent.parent.type != "namespace_definition"
    ):
        return
    for element in node.named_children:
        if element.type == "const_element" and element.named_child_count >= 2:
            const_name = _text(element.named_children[0])
            facts.defines.append((const_name, to_expr(element.named_children[-1])))


def _note_call(
    node: tree_sitter.Node | None, facts: FileFacts, guards: set[Expr], source: bytes
) -> None:
    """define(), file_exists()-like guards and include_path setters."""
    if node is None:
        return
    name = _call_name(node)
    if name == "define":
        found = _define_of(node)
        if found is not None:
            facts.defines.append(found)
        return
    args = _call_args(node)
    if name in GUARD_FUNCTIONS and args:
        guards.add(to_expr(args[0]))
    elif name == "chdir" and args:
        facts.chdirs.append((node.start_point[0] + 1, with_locals(to_expr(args[0]), node, source)))
    elif name in INCLUDE_PATH_SETTERS and args:
        facts.include_paths.append(with_locals(to_expr(args[0]), node, source))
    elif (
        name == "ini_set"
        and len(args) == 2
        and _strip_raw(to_expr(args[0])) == ("s", "include_path", None)
    ):
        facts.include_paths.append(with_locals(to_expr(args[1]), node, source))


def _is_unknown(expr: Expr) -> bool:
    return expr[0] == "unknown" or any(_is_unknown(part) for part in sub_expressions(expr))


def _uses_variable(expr: Expr) -> bool:
    return expr[0] == "var" or any(_uses_variable(part) for part in sub_expressions(expr))


def with_locals(expr: Expr, at: tree_sitter.Node, source: bytes, depth: int = MAX_DEPTH) -> Expr:
    """`expr` with each local variable replaced by the values it can hold at `at`.

    The values come from other lines: their literals lose their source text (an edit is
    only offered for a literal on the include's own line).
    """
    if not _uses_variable(expr):
        return expr

    def convert(rhs: tree_sitter.Node) -> Expr:
        value = _strip_raw(to_expr(rhs))
        return with_locals(value, rhs, source, depth - 1) if depth > 1 else value

    def substitute(part: Expr) -> Expr:
        if part[0] == "var":
            values = reaching_values(at, str(part[1]), source, convert)
            if values is None or any(_is_unknown(value) for value in values):
                return part  # knowledge data may still know it (MediaWiki's $IP)
            return ("alt", tuple(values))
        return map_parts(part, substitute)

    return substitute(expr)


def _raw_include(
    source: bytes, node: tree_sitter.Node, kind: str, suppressed: bool, guards: set[Expr]
) -> RawInclude | None:
    target = node.named_children[-1] if node.named_children else None
    if target is None:
        return None
    plain = to_expr(target)
    guarded = _is_guarded(plain, guards) or in_dead_branch(node)
    expr = without_guarded(with_locals(plain, node, source), guards, _strip_raw)
    row, col = node.start_point
    # The include's line, cut out around it (splitting the whole file costs more).
    line_start = source.rfind(b"\n", 0, node.start_byte) + 1
    line_end = source.find(b"\n", node.start_byte)
    line_bytes = source[line_start : line_end if line_end >= 0 else len(source)]
    return RawInclude(
        kind=kind,
        line=row + 1,
        column=col + 1,
        expr=expr,
        expression=_text(target),
        source_line=line_bytes.decode("utf-8", "surrogateescape").rstrip("\r"),
        guarded=guarded,
        suppressed=suppressed,
        in_function=in_function(node),
    )


def _syntax_problems(root: tree_sitter.Node, limit: int = 20) -> list[SyntaxProblem]:
    """ERROR and MISSING nodes, outermost first (only called when the tree has errors)."""
    problems: list[SyntaxProblem] = []
    stack = [root]
    while stack and len(problems) < limit:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            row, col = node.start_point
            if node.is_missing:
                what = f"missing '{node.type}'"
            else:
                snippet = _text(node).split("\n", 1)[0][:40]
                what = f"unexpected '{snippet}'" if snippet else "unexpected input"
            problems.append(SyntaxProblem(row + 1, col + 1, f"syntax error: {what}"))
            continue
        if node.has_error:
            stack.extend(reversed(node.children))
    problems.sort(key=lambda p: (p.line, p.column))
    return problems


def _is_expr(part: object) -> bool:
    return isinstance(part, tuple) and bool(part) and isinstance(part[0], str)


def map_parts(expr: Expr, change: Callable[[Expr], Expr]) -> Expr:
    """`expr` with `change` applied to each of its sub-expressions (one level)."""
    parts: list[Any] = [expr[0]]
    for part in expr[1:]:
        if _is_expr(part):
            parts.append(change(part))
        elif isinstance(part, tuple):
            parts.append(tuple(change(p) if _is_expr(p) else p for p in part))
        else:
            parts.append(part)
    return tuple(parts)


def sub_expressions(expr: Expr) -> list[Expr]:
    found: list[Expr] = []

    def collect(part: Expr) -> Expr:
        found.append(part)
        return part

    map_parts(expr, collect)
    return found


def _strip_raw(expr: Expr) -> Expr:
    """The expression without literal source text, so "x" and 'x' compare equal."""
    if expr[0] == "s":
        return ("s", expr[1], None)
    return map_parts(expr, _strip_raw)


def _is_guarded(expr: Expr, guards: set[Expr]) -> bool:
    wanted = _strip_raw(expr)
    return any(_strip_raw(guard) == wanted for guard in guards)


# Above this size a file is not parsed whole: tree-sitter needs ~200 bytes per node, and
# generated data files (MediaWiki's 4 MB SecureLinkFixer/domains.php: 1.3 million nodes)
# would take hundreds of MB. Only the statements around the hotspots are parsed; the
# syntax of the whole file is then checked by `php -l` (see php.parsing).
LARGE_FILE_BYTES = 1024 * 1024
_SNIPPET_BYTES = 8192
_PREFIX = b"<?php "


def extract_large(source: bytes) -> FileFacts:
    """FileFacts of a large file from the statements around its hotspots only."""
    facts = FileFacts()
    done_until = -1
    for offset, _word in _hotspots(source):
        if offset < done_until:
            continue
        start = max(source.rfind(b"\n", 0, offset) + 1, done_until)
        end = source.find(b";", offset, offset + _SNIPPET_BYTES)
        if end < 0:
            continue
        done_until = end + 1
        snippet = extract(_PREFIX + source[start : end + 1])
        base_line = source.count(b"\n", 0, start) + 1
        first_line_start = source.rfind(b"\n", 0, start) + 1
        for name, expr in snippet.defines:
            facts.defines.append((name, expr))
        facts.include_paths.extend(snippet.include_paths)
        base_line_of = source.count(b"\n", 0, start)
        facts.chdirs.extend((base_line_of + line, expr) for line, expr in snippet.chdirs)
        for include in snippet.includes:
            line = base_line + include.line - 1
            line_start = first_line_start if include.line == 1 else _line_start(source, line)
            line_end = source.find(b"\n", line_start)
            text = source[line_start : line_end if line_end >= 0 else len(source)]
            facts.includes.append(
                RawInclude(
                    kind=include.kind,
                    line=line,
                    column=include.column
                    + ((start - first_line_start - len(_PREFIX)) if include.line == 1 else 0),
                    expr=include.expr,
                    expression=include.expression,
                    source_line=text.decode("utf-8", "surrogateescape").rstrip("\r"),
                    guarded=include.guarded,
                    suppressed=include.suppressed,
                    in_function=include.in_function,
                )
            )
    return facts


def _line_start(source: bytes, line: int) -> int:
    position = 0
    for _ in range(line - 1):
        position = source.index(b"\n", position) + 1
    return position
