"""The rule docs: four parts in every docstring, generated pages committed and current."""

from __future__ import annotations

from pathlib import Path

import pytest

from premortem.rules import Rule, all_rules
from premortem.rules.docs import DEFAULT_DIR, pages

SECTIONS = ("## What it does", "## Why it breaks sites", "## Example", "## Fix")


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_docstring_has_the_four_parts(rule: type[Rule]) -> None:
    doc = rule.doc()
    positions = [doc.find(section) for section in SECTIONS]
    assert all(p >= 0 for p in positions), positions
    assert positions == sorted(positions)
    assert rule.summary and rule.code == rule.code.lower()


def test_generated_pages_are_committed_and_current() -> None:
    for name, text in pages().items():
        page = DEFAULT_DIR / name
        assert page.is_file(), f"run: python -m premortem.rules.docs ({name} missing)"
        assert page.read_text() == text, f"run: python -m premortem.rules.docs ({name} stale)"


def test_docs_dir_is_the_repository_one() -> None:
    assert Path(__file__).resolve().parents[1] / "docs" / "rules" == DEFAULT_DIR
