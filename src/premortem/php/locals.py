"""The values a local variable can hold where it is used: reaching assignments in one scope.

`$path = __DIR__ . '/a.php'; if ($x) { $path = 'b.php'; } require $path;` gives both
values, as PHPStan does: each one that is missing is reported. The analysis is
deliberately small and bounded (one function or file scope, a few dozen occurrences of the
name, assignments before the use in source order):

- an assignment that every path from the scope's start to the use passes through (not
  inside a branch or loop that does not also hold the use) replaces the values so far;
- one inside a branch adds its value to them;
- anything that sets the variable in a way not followed here (`foreach`, `list()`,
  `global`, `static`, a parameter, `$x[...] =`, `&`) makes the value unknown, and so does
  the value it may have on entering the scope (the including file's, or a parameter):
  unknown values leave the include unresolved rather than risk a false error.
"""

from __future__ import annotations

from collections.abc import Callable

import tree_sitter

Expr = tuple[object, ...]

SCOPE_TYPES = frozenset(
    {"program", "function_definition", "method_declaration", "anonymous_function", "arrow_function"}
)
# Constructs whose body may run or not: an assignment inside one only adds a value.
CONDITIONAL_TYPES = frozenset(
    {
        "if_statement",
        "else_clause",
        "else_if_clause",
        "while_statement",
        "do_statement",
        "for_statement",
        "foreach_statement",
        "switch_statement",
        "case_statement",
        "default_statement",
        "try_statement",
        "catch_clause",
        "conditional_expression",
        "match_expression",
        "binary_expression",  # `$a || $x = ...`: short-circuit
    }
)
LOOP_TYPES = frozenset({"while_statement", "do_statement", "for_statement", "foreach_statement"})
# Bounds: occurrences of one name looked at, values kept, variables followed through others.
MAX_OCCURRENCES = 64
MAX_VALUES = 8
MAX_DEPTH = 3

UNKNOWN: Expr = ("unknown", "variable")


def enclosing_scope(node: tree_sitter.Node) -> tree_sitter.Node:
    current: tree_sitter.Node | None = node.parent
    while current is not None and current.type not in SCOPE_TYPES:
        current = current.parent
    return current if current is not None else node


def _contains(outer: tree_sitter.Node, inner: tree_sitter.Node) -> bool:
    return outer.start_byte <= inner.start_byte and inner.end_byte <= outer.end_byte


Node = tree_sitter.Node


def _dominates(definition: Node, use: Node, scope: Node) -> bool:
    """Whether every path reaching `use` runs `definition` (which comes before it)."""
    node = definition.parent
    while node is not None and node != scope:
        if node.type in CONDITIONAL_TYPES and not _contains(node, use):
            return False
        node = node.parent
    return True


def _in_loop_with(definition: Node, use: Node, scope: Node) -> bool:
    node = definition.parent
    while node is not None and node != scope:
        if node.type in LOOP_TYPES and _contains(node, use):
            return True
        node = node.parent
    return False


def _occurrences(
    root: tree_sitter.Node, scope: tree_sitter.Node, source: bytes, name: str
) -> list[tree_sitter.Node] | None:
    """The `$name` nodes of this scope (not of functions nested in it), in source order."""
    needle = b"$" + name.encode()
    found: list[tree_sitter.Node] = []
    start = source.find(needle, scope.start_byte, scope.end_byte)
    while start != -1:
        after = source[start + len(needle) : start + len(needle) + 1]
        if not (after.isalnum() or after == b"_" or (after and after[0] >= 0x80)):
            node = root.descendant_for_byte_range(start, start + len(needle))
            while node is not None and node.type != "variable_name" and node.start_byte == start:
                node = node.parent
            if node is not None and node.type == "variable_name" and enclosing_scope(node) == scope:
                found.append(node)
                if len(found) > MAX_OCCURRENCES:
                    return None
        start = source.find(needle, start + len(needle), scope.end_byte)
    return found


def _definition(variable: tree_sitter.Node) -> tuple[str, tree_sitter.Node | None] | None:
    """('=', rhs), ('.=', rhs) or ('?', None) if `variable` is set here; None for a read."""
    parent = variable.parent
    if parent is None:
        return None
    if parent.type in ("assignment_expression", "augmented_assignment_expression"):
        if parent.child_by_field_name("left") != variable:
            return None
        operator = parent.child_by_field_name("operator")
        if parent.type == "assignment_expression":
            is_reference = any(c.type == "&" for c in parent.children)
            return ("?", None) if is_reference else ("=", parent.child_by_field_name("right"))
        if operator is not None and operator.type == ".=":
            return (".=", parent.child_by_field_name("right"))
        return ("?", None)
    if parent.type == "subscript_expression":
        grand = parent.parent
        if grand is not None and grand.type.endswith("assignment_expression"):
            written = grand.child_by_field_name("left") == parent
            return ("?", None) if written else None  # $x[...] = ...: now an array
        return None
    if parent.type in (
        "foreach_statement",
        "pair",
        "list_literal",
        "global_declaration",
        "static_variable_declaration",
        "simple_parameter",
        "variadic_parameter",
        "property_promotion_parameter",
        "anonymous_function_use_clause",
        "by_ref",
        "unset_statement",
        "catch_clause",
    ):
        return ("?", None)
    return None


def reaching_values(
    use: tree_sitter.Node,
    name: str,
    source: bytes,
    convert: Callable[[tree_sitter.Node], Expr],
) -> list[Expr] | None:
    """Every value `$name` can hold at `use`, or None if any of them is not known."""
    if name == "this" or name.startswith("GLOBALS"):
        return None
    scope = enclosing_scope(use)
    root = scope
    while root.parent is not None:
        root = root.parent
    occurrences = _occurrences(root, scope, source, name)
    if occurrences is None:
        return None
    values: list[Expr] = [UNKNOWN]  # the value on entering the scope
    for variable in occurrences:
        definition = _definition(variable)
        if definition is None:
            continue
        operator, rhs = definition
        assignment = variable.parent if variable.parent is not None else variable
        before = variable.end_byte <= use.start_byte and not _contains(assignment, use)
        if not before and not _in_loop_with(assignment, use, scope):
            continue
        if operator == "?" or rhs is None:
            new = [UNKNOWN]
        elif operator == "=":
            new = [convert(rhs)]
        else:
            suffix = convert(rhs)
            new = [("cat", (value, suffix)) if value != UNKNOWN else UNKNOWN for value in values]
        if before and _dominates(assignment, use, scope):
            values = new
        else:
            values = values + [v for v in new if v not in values]
        if len(values) > MAX_VALUES:
            return None
    if UNKNOWN in values:
        return None
    return values
