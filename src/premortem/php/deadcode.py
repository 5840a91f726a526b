"""Where an include runs: branches check can prove never run (an include there is no error
whatever the files), function bodies, values a guard tests.

`if (false)`, `if (0)`, `if (null)` and version tests no PHP check meets can pass
(`if (PHP_VERSION_ID < 50300)`, `if (version_compare(PHP_VERSION, '5.3', '<'))`,
`if (PHP_MAJOR_VERSION < 7)`): the legacy fallback behind them is never loaded. Tests are
judged against every PHP from 7.0 on (`OLDEST_PHP`), not the one installed: the verdict is
cached with the file's facts and must not change when the server's PHP does.

Not dead: anything depending on run-time state, such as `if (!defined('X'))`,
`if (function_exists(...))`, `if ($debug)` or a version test PHP 7+ can pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import tree_sitter

# The oldest PHP a checked site may run on: PHP_VERSION_ID, major version.
OLDEST_PHP = (70000, 7)
_COMPARISONS = frozenset({"<", "<=", ">", ">="})
_VERSION = re.compile(r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?$")


def in_dead_branch(node: tree_sitter.Node, depth: int = 12) -> bool:
    """Whether `node` lies in the body of an `if`/`elseif` whose condition is never true."""
    child = node
    parent = node.parent
    while parent is not None and depth > 0:
        if parent.type in ("if_statement", "else_if_clause"):
            condition = parent.child_by_field_name("condition")
            in_body = child != condition and child.type not in ("else_clause", "else_if_clause")
            if condition is not None and in_body and never_true(condition):
                return True
        child, parent = parent, parent.parent
        depth -= 1
    return False


def never_true(node: tree_sitter.Node) -> bool:
    """Whether the condition `node` is false on every PHP from 7.0 on."""
    while node.type == "parenthesized_expression" and node.named_children:
        node = node.named_children[0]
    text = (node.text or b"").decode("utf-8", "replace").strip().lower()
    if node.type in ("boolean", "null", "integer", "float", "name"):
        return text in ("false", "null", "0", "0.0")
    if node.type == "binary_expression":
        operator = node.child_by_field_name("operator")
        op = (operator.text or b"").decode() if operator is not None else ""
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        if left is None or right is None:
            return False
        if op.lower() in ("&&", "and"):
            return never_true(left) or never_true(right)
        if op in _COMPARISONS:
            return _old_version_test(left, op, right)
        return False
    if node.type == "function_call_expression":
        return _old_version_compare(node)
    return False


def _old_version_test(left: tree_sitter.Node, op: str, right: tree_sitter.Node) -> bool:
    """`PHP_VERSION_ID < 50300` (or `50300 > PHP_VERSION_ID`, or PHP_MAJOR_VERSION)."""
    if left.type == "integer" and right.type == "name":
        left, right = right, left
        op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
    if left.type != "name" or right.type != "integer" or op not in ("<", "<="):
        return False
    name = (left.text or b"").decode()
    try:
        bound = int((right.text or b"").decode().replace("_", ""), 0)
    except ValueError:
        return False
    oldest = {"PHP_VERSION_ID": OLDEST_PHP[0], "PHP_MAJOR_VERSION": OLDEST_PHP[1]}.get(name)
    if oldest is None:
        return False
    return bound < oldest if op == "<=" else bound <= oldest


def _old_version_compare(call: tree_sitter.Node) -> bool:
    """`version_compare(PHP_VERSION, '5.3.0', '<')` (or 'lt', '<=', 'le')."""
    function = call.child_by_field_name("function")
    if function is None or (function.text or b"").decode().lower() != "version_compare":
        return False
    arguments = call.child_by_field_name("arguments")
    args = [
        a.named_children[0]
        for a in (arguments.named_children if arguments else [])
        if a.type == "argument" and a.named_children
    ]
    if len(args) != 3 or (args[0].text or b"") != b"PHP_VERSION":
        return False
    version = _literal(args[1])
    op = _literal(args[2])
    match = _VERSION.match(version or "")
    if match is None or op not in ("<", "lt", "<=", "le"):
        return False
    numbers = [int(part or 0) for part in match.groups()]
    bound = numbers[0] * 10000 + numbers[1] * 100 + numbers[2]
    return bound < OLDEST_PHP[0] if op in ("<=", "le") else bound <= OLDEST_PHP[0]


def _literal(node: tree_sitter.Node) -> str | None:
    if node.type not in ("string", "encapsed_string"):
        return None
    parts = [c for c in node.named_children if c.type != "string_content"]
    if parts:
        return None  # interpolation
    return "".join((c.text or b"").decode() for c in node.named_children)


_FUNCTION_TYPES = frozenset(
    {"function_definition", "method_declaration", "anonymous_function", "arrow_function"}
)


def in_function(node: tree_sitter.Node) -> bool:
    """Whether `node` is in a function or method body (runs only when called)."""
    parent = node.parent
    while parent is not None:
        if parent.type in _FUNCTION_TYPES:
            return True
        parent = parent.parent
    return False


def without_guarded(
    expr: tuple[Any, ...], guards: set[tuple[Any, ...]], strip: Callable[[Any], Any]
) -> tuple[Any, ...]:
    """A variable's values without those the file tests with file_exists()/is_file() (the
    value assigned under `if (is_file('../../x')) $p = '../../x';` is never a failure),
    as long as one value is left."""
    if expr[0] != "alt":
        return expr
    wanted = {strip(guard) for guard in guards}
    kept = tuple(option for option in expr[1] if strip(option) not in wanted)
    return ("alt", kept) if kept and len(kept) < len(expr[1]) else expr
