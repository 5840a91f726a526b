"""Every problem class has one shape: registered once, documented in four parts, docs current."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from premortem import registry
from premortem.docs import DEFAULT_DIR, pages
from premortem.problem import DOC_SECTIONS, ProblemClass

SRC = Path(__file__).resolve().parents[1] / "src" / "premortem"
KIND_DIRS = {
    "rules": SRC / "rules",
    "analyzers": SRC / "analyzers",
    "scenarios": SRC / "ops" / "lab" / "scenarios",
}
NOT_CLASSES = {"__init__", "base", "_common", "_fastcgi", "_helpers", "_servers"}
DOCUMENTED = registry.all_problem_classes()


@pytest.mark.parametrize("cls", DOCUMENTED, ids=lambda c: c.code)
def test_docstring_has_the_four_parts_in_order(cls: type[ProblemClass]) -> None:
    doc = cls.doc()
    positions = [doc.find(section) for section in DOC_SECTIONS]
    assert all(p >= 0 for p in positions), positions
    assert positions == sorted(positions)
    assert cls.doc_problems() == []


@pytest.mark.parametrize("kind", sorted(KIND_DIRS))
def test_every_module_defines_one_registered_class(kind: str) -> None:
    """A module forgotten in the registry fails here instead of being silently skipped."""
    registered = {(cls.__module__, cls.__name__) for cls in getattr(registry, kind)()}
    package = ".".join(KIND_DIRS[kind].relative_to(SRC.parent).parts)
    for path in sorted(KIND_DIRS[kind].glob("*.py")):
        if path.stem in NOT_CLASSES:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
        module = f"{package}.{path.stem}"
        mine = [name for name in classes if (module, name) in registered]
        assert len(mine) == 1, f"{module} defines {classes}, registered: {mine}"
    assert len(registered) == len({m for m, _ in registered})


def test_codes_are_unique_within_each_kind() -> None:
    for kind in KIND_DIRS:
        codes = [cls.code for cls in getattr(registry, kind)()]
        assert len(codes) == len(set(codes)), kind


def test_a_duplicate_code_is_refused_at_once() -> None:
    from premortem.errors import InternalError

    rule = registry.rules()[0]
    with pytest.raises(InternalError, match="registered twice"):
        registry._checked([rule, rule])


def test_generated_pages_are_committed_and_current() -> None:
    for name, text in pages().items():
        page = DEFAULT_DIR / name
        assert page.is_file(), f"run: python -m premortem.docs ({name} missing)"
        assert page.read_text() == text, f"run: python -m premortem.docs ({name} stale)"


def test_every_docs_url_names_a_committed_page() -> None:
    for cls in registry.all_problem_classes():
        url = cls.docs_url()
        relative = url.split("/blob/main/docs/", 1)[1].split("#", 1)[0]
        assert (DEFAULT_DIR / relative).is_file(), url
