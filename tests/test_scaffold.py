"""`python -m premortem.dev new`: a new problem class is one command away from a failing test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]


def checkout(tmp_path: Path) -> Path:
    """A copy of what the scaffold writes in: src/, docs/ and tests/fixtures/problems/."""
    root = tmp_path / "checkout"
    shutil.copytree(REPOSITORY / "src", root / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    shutil.copytree(REPOSITORY / "docs", root / "docs")
    shutil.copy(REPOSITORY / "pyproject.toml", root / "pyproject.toml")
    (root / "tests" / "fixtures" / "problems").mkdir(parents=True)
    return root


def python(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(root / "src")},
    )


@pytest.mark.parametrize("kind", ["rule", "analyzer", "scenario"])
def test_new_class_is_registered_documented_and_has_both_cases(tmp_path: Path, kind: str) -> None:
    root = checkout(tmp_path)
    made = python(
        root,
        "-m",
        "premortem.dev",
        "new",
        kind,
        "demo-problem",
        "--summary",
        "a demo problem",
        "--root",
        str(root),
    )
    assert made.returncode == 0, made.stdout + made.stderr
    check = python(
        root,
        "-c",
        (
            "from premortem import registry\n"
            f"[cls] = [c for c in getattr(registry, '{kind}s')() if c.code == 'demo-problem']\n"
            "print(cls.__module__, cls.summary, cls.doc_problems())"
        ),
    )
    assert check.returncode == 0, check.stderr
    folder = {"rule": "rules", "analyzer": "analyzers", "scenario": "ops.lab.scenarios"}[kind]
    assert check.stdout.split()[0] == f"premortem.{folder}.demo_problem"
    assert "a demo problem []" in check.stdout
    docs = root / "docs"
    if kind == "scenario":
        assert "demo-problem" in (docs / "scenarios" / "README.md").read_text()
        return
    assert (docs / f"{kind}s" / "demo-problem.md").is_file()
    cases = root / "tests" / "fixtures" / "problems" / "demo-problem"
    fire = json.loads((cases / "fire" / "example" / "expected.json").read_text())
    assert fire[0]["rule"] == "demo-problem"
    assert json.loads((cases / "fp" / "example" / "expected.json").read_text()) == []
    lint = subprocess.run(
        [str(REPOSITORY / ".venv" / "bin" / "ruff"), "check", "--quiet", str(root / "src")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout


def test_a_code_that_is_not_kebab_case_is_refused(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    made = python(root, "-m", "premortem.dev", "new", "rule", "Bad_Code", "--root", str(root))
    assert made.returncode == 2 and "kebab-case" in made.stderr
    assert not (root / "src" / "premortem" / "rules" / "bad_code.py").exists()
