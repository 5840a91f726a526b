"""The shape of the code base: no import cycle, PHP at the ground floor, short functions,
analyzers that read no file.

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
import builtins
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PROBLEMS = Path(__file__).resolve().parent / "fixtures" / "problems"
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


# Analyzers are pure functions of the evidence: what they know of files is what the file
# collector (collectors/files.py) saw through the host. Two checks: no analyzer module names
# a way to reach the file system, and every analyzer case runs with the file system shut.
FILE_SYSTEM_MODULES = {"os", "pathlib", "glob", "shutil", "pwd", "grp", "io", "tempfile", "fnmatch"}
# Calls that reach the file system whatever they are called on (Path methods, os.* names).
FILE_SYSTEM_CALLS = {
    "open", "read_text", "read_bytes", "write_text", "write_bytes", "stat", "lstat",
    "exists", "lexists", "is_file", "is_dir", "is_symlink", "isfile", "isdir", "islink",
    "iterdir", "glob", "rglob", "resolve", "realpath", "readlink", "listdir", "scandir",
    "walk", "access", "statvfs", "samefile", "getsize", "getmtime", "expanduser",
}  # fmt: skip
# Modules of premortem itself whose functions read files (php/'s resolver and suggestions,
# the config readers' file-reading functions, textfile): an analyzer asks the collector.
FILE_READING_IMPORTS = {
    "premortem.php": None,
    "premortem.textfile": None,
    "premortem.readers.wpconfig": {"is_secret", "parse_wp_config"},
}


def file_system_uses(module: Module) -> list[str]:
    """Where `module` imports a file system module or calls something that reads files."""
    found: list[str] = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
            found += [f"line {node.lineno}: import {n}" for n in names if _reaches_files(n, set())]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            names = {alias.name for alias in node.names}
            if _reaches_files(source, names):
                found.append(f"line {node.lineno}: from {source} import {sorted(names)}")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else ""
            attr = func.attr if isinstance(func, ast.Attribute) else ""
            if name == "open" or attr in FILE_SYSTEM_CALLS:
                found.append(f"line {node.lineno}: {name or attr}()")
    return found


def _reaches_files(module_name: str, names: set[str]) -> bool:
    if module_name.split(".")[0] in FILE_SYSTEM_MODULES:
        return True
    for reader, allowed in FILE_READING_IMPORTS.items():
        if module_name == reader or module_name.startswith(reader + "."):
            exempt = module_name == "premortem.php.dirconst"  # pure text, no file
            return not exempt and (allowed is None or not names <= allowed)
    return False


def analyzer_modules() -> list[Module]:
    return [m for name, m in modules().items() if name.startswith(f"{PACKAGE}.analyzers")]


def test_no_analyzer_touches_the_file_system() -> None:
    assert len(analyzer_modules()) > 15
    uses = {m.name: file_system_uses(m) for m in analyzer_modules()}
    assert {name: found for name, found in uses.items() if found} == {}


def test_the_file_system_check_sees_a_read(tmp_path: Path) -> None:
    path = tmp_path / "bad.py"
    path.write_text(
        "import os\nfrom premortem.php import suggest_existing\n"
        "def f(p):\n    return open(p).read() + p.read_text() + str(p.exists())\n"
    )
    bad = Module("premortem.analyzers.bad", path, ast.parse(path.read_text()))
    assert len(file_system_uses(bad)) == 5


def test_every_analyzer_case_runs_with_the_file_system_shut(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Each analyzer's fire/ and fp/ cases give the same findings while every way to the
    file system raises (so an analyzer that reads a file, even through a helper in another
    layer, fails here)."""
    from fixtures.problems.evidence_json import load_evidence
    from premortem.registry import analyzers

    loaded = []
    for analyzer in analyzers():
        for case in sorted((PROBLEMS / analyzer.code).glob("*/*/evidence.json")):
            evidence = load_evidence(case.read_text(), tmp_path / "case" / "tree")
            loaded.append((analyzer, case, evidence))
    assert len(loaded) > 40

    def shut(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("an analyzer touched the file system")

    with monkeypatch.context() as patch:
        for name in ("stat", "lstat", "open", "listdir", "scandir", "readlink", "access"):
            patch.setattr(os, name, shut)
        patch.setattr(os, "statvfs", shut)
        patch.setattr(builtins, "open", shut)
        patch.setattr(io, "open", shut)
        outcomes = [(case, analyzer().analyze(evidence)) for analyzer, case, evidence in loaded]
    for (analyzer, case, _evidence), (_case, findings) in zip(loaded, outcomes, strict=True):
        expected = json.loads((case.parent / "expected.json").read_text())
        found = [f for f in findings if f.rule == analyzer.code]
        assert len(found) == len(expected), case
