"""The shape of the code base: no import cycle, PHP at the ground floor, short functions.

The import graph is built from each module's AST (every `import` and `from` statement, at
module or function level, except those under `if TYPE_CHECKING:`), so a function-level import
cannot hide a cycle. `from pkg import name` depends on the module `pkg.name` when that is a
module, and on `pkg` itself otherwise (the name is defined by `pkg/__init__.py`). Importing
`a.b.c` also runs the packages `a.b` and `a`, so it depends on them too, unless the importer
is itself inside them (a package is initialised before its modules: a re-exporting
`__init__.py` is fine as long as its submodules do not import the package back).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "premortem"
# What the PHP layer may not import: everything above it.
ABOVE_PHP = ("check", "rules", "analyzers", "collectors", "ops", "cli", "diagnosis", "render")
MAX_FUNCTION_LINES = 80


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"


@cache
def modules() -> dict[str, Module]:
    """Every module under src/premortem, by dotted name, with its parsed AST."""
    found: dict[str, Module] = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        found[name] = Module(name, path, ast.parse(path.read_text(encoding="utf-8")))
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for orelse in child.orelse:
                yield from _import_nodes(orelse)
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        yield from _import_nodes(child)


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.name.split(".")
    if not module.is_package:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(module: Module) -> set[str]:
    """The project's modules this module imports (at any level, TYPE_CHECKING aside)."""
    known = modules()
    targets: set[str] = set()
    for node in _import_nodes(module.tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        source = _absolute(module, node)
        for alias in node.names:
            submodule = f"{source}.{alias.name}"
            targets.add(submodule if submodule in known else source)
    own_packages = set(_packages_of(module.name))
    with_packages = {p for t in targets for p in _packages_of(t) if p not in own_packages}
    return {t for t in targets | with_packages if t in known and t != module.name}


def _packages_of(name: str) -> list[str]:
    """The packages importing `name` runs first: `a.b.c` -> `a`, `a.b`."""
    parts = name.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts))]


def import_graph() -> dict[str, set[str]]:
    return {name: imports_of(module) for name, module in modules().items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph (as a path that ends where it starts), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_there_is_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_sees_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_a_function_level_import_counts(tmp_path: Path) -> None:
    source = "def f():\n    from premortem.model import Finding\n"
    module = Module("premortem.fake", tmp_path / "fake.py", ast.parse(source))
    hidden = "if TYPE_CHECKING:\n    from premortem.errors import PremortemError\n"
    typing_only = Module("premortem.fake2", tmp_path / "fake2.py", ast.parse(hidden))
    assert imports_of(module) == {"premortem.model"}
    assert imports_of(typing_only) == set()


def test_importing_a_module_runs_its_packages(tmp_path: Path) -> None:
    source = "from premortem.ops.lab.procs import free_port\nfrom premortem.ops.lab import core\n"
    outside = Module("premortem.fake", tmp_path / "fake.py", ast.parse(source))
    inside = Module("premortem.ops.lab.fake", tmp_path / "fake.py", ast.parse(source))
    assert imports_of(outside) == {
        "premortem.ops",
        "premortem.ops.lab",
        "premortem.ops.lab.core",
        "premortem.ops.lab.procs",
    }
    # Its own packages are initialised before it runs: a sibling is all it depends on.
    assert imports_of(inside) == {"premortem.ops.lab.core", "premortem.ops.lab.procs"}


def test_php_is_the_ground_floor() -> None:
    above = tuple(f"{PACKAGE}.{layer}" for layer in ABOVE_PHP)
    wrong = {
        f"{name} imports {target}"
        for name, targets in import_graph().items()
        if name == f"{PACKAGE}.php" or name.startswith(f"{PACKAGE}.php.")
        for target in targets
        if target.startswith(above)
    }
    assert not wrong, sorted(wrong)


def long_functions(limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """Functions of src/premortem longer than `limit` lines, from `def` to the last line
    (docstring included; a click command's option decorators are declarations, not counted)."""
    found = []
    for module in modules().values():
        for node in ast.walk(module.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > limit:
                    found.append(f"{module.name}.{node.name}: {length} lines")
    return sorted(found)


def test_no_function_is_longer_than_80_lines() -> None:
    assert long_functions() == []


def test_the_length_check_sees_a_long_function() -> None:
    assert long_functions(limit=5), "no function over 5 lines: the check reads nothing"
