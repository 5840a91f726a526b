"""Every problem class against its data cases in tests/fixtures/problems/ (see the README there).

Each `<code>/fire/<case>` must give exactly the findings of `expected.json` for that code, each
`<code>/fp/<case>` none; the meta-test fails when a registered class lacks either kind or a
folder names no registered class.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import dacite
import pytest

from fixtures.diagnose.recorded import searchable_tmp
from fixtures.problems.evidence_json import load_evidence
from premortem.analyzers.base import Analyzer
from premortem.check.context import CheckOptions
from premortem.check.runner import run_check
from premortem.model import Finding
from premortem.registry import analyzers, rules
from premortem.rules.base import Rule

PROBLEMS = Path(__file__).parent / "fixtures" / "problems"
KINDS = ("fire", "fp")

ProblemClass = type[Rule] | type[Analyzer]


def problem_classes() -> dict[str, ProblemClass]:
    """Every registered problem class by code: check rules, then diagnose analyzers."""
    return {cls.code: cls for cls in [*rules(), *analyzers()]}


def run_problem_class(problem_class: ProblemClass, case: Path, root: Path) -> list[Finding]:
    """Run one class on one prepared case: a rule as `premortem check` runs it, or an analyzer."""
    if issubclass(problem_class, Rule):
        return run_check(root, check_options(case, root), rules=[problem_class]).findings
    return problem_class().analyze(load_evidence((case / "evidence.json").read_text(), root))


def check_options(case: Path, root: Path) -> CheckOptions:
    """options.json as CheckOptions (never cached: every case is a fresh tree)."""
    path = case / "options.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    for config in data.get("server_configs", []):
        _substitute(case / config, root)
    data["server_configs"] = [str(case / config) for config in data.get("server_configs", [])]
    options = dacite.from_dict(CheckOptions, data, config=dacite.Config(strict=True))
    options.use_cache = False
    return options


def _substitute(path: Path, root: Path) -> None:
    path.write_text(
        path.read_text().replace("@ROOT@", str(root)).replace("@CASE@", str(root.parent))
    )


def apply_setup(case: Path, root: Path) -> None:
    """setup.json: what the repository must not hold, in this order: empty directories,
    symlinks to a directory above them (pytest and other tools would walk them forever),
    owners and modes."""
    path = case / "setup.json"
    setup: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    unknown = set(setup) - {"mkdir", "symlink", "chown", "chmod"}
    assert not unknown, f"{path}: unknown setup keys {sorted(unknown)}"
    for name in setup.get("mkdir", []):
        (root / name).mkdir(parents=True, exist_ok=True)
    for name, target in setup.get("symlink", {}).items():
        (root / name).symlink_to(target)
    for name, owner in setup.get("chown", {}).items():
        user, _, group = owner.partition(":")
        shutil.chown(root / name, user, group or None)
    for name, mode in setup.get("chmod", {}).items():
        os.chmod(root / name, int(mode, 8), follow_symlinks=False)


def cases() -> Iterator[Any]:
    for case in sorted(PROBLEMS.glob("*/*/*/expected.json")):
        code, kind, name = case.parent.relative_to(PROBLEMS).parts
        yield pytest.param(code, kind, case.parent, id=f"{code}/{kind}/{name}")


@pytest.fixture
def work_dir() -> Iterator[Path]:
    # Searchable by www-data (pytest's tmp_path is 0700): modes in a case mean what they say.
    with searchable_tmp() as base:
        yield base


@pytest.mark.parametrize(("code", "kind", "case"), list(cases()))
def test_case(code: str, kind: str, case: Path, work_dir: Path) -> None:
    copy = work_dir / "case"
    shutil.copytree(case, copy, symlinks=True)
    root = copy / "tree"
    root.mkdir(exist_ok=True)
    apply_setup(copy, root)
    findings = run_problem_class(problem_classes()[code], copy, root)
    text = (case / "expected.json").read_text()
    expected = json.loads(text.replace("@ROOT@", str(root)).replace("@CASE@", str(copy)))
    actual = [f for f in findings if f.rule == code]
    assert [_view(f) for f in actual] == [_view_expected(e) for e in expected], [
        f.to_dict() for f in actual
    ]
    for finding, wanted in zip(actual, expected, strict=True):
        assert wanted.get("message_contains", "") in finding.message


def _view(finding: Finding) -> dict[str, Any]:
    """What a case pins down: not the evidence quotes nor the confidence, which rankings tune."""
    return {
        "rule": finding.rule,
        "file": finding.file,
        "line": finding.line,
        "severity": finding.severity,
        "suggestion": finding.suggestion,
        "edits": [asdict(edit) for edit in finding.fix.edits] if finding.fix else [],
    }


def _view_expected(wanted: dict[str, Any]) -> dict[str, Any]:
    known = {"rule", "file", "line", "severity", "suggestion", "edits", "message_contains"}
    assert set(wanted) <= known, f"unknown keys {sorted(set(wanted) - known)}"
    return {"suggestion": None, "edits": []} | {
        key: value for key, value in wanted.items() if key != "message_contains"
    }


def test_every_problem_class_has_a_case_that_fires_and_one_that_must_not() -> None:
    registered = set(problem_classes())
    folders = {path.name for path in PROBLEMS.iterdir() if path.is_dir() and path.name[0] != "_"}
    assert folders <= registered, f"case folders of no registered class: {folders - registered}"
    for code in sorted(registered):
        for kind in KINDS:
            found = list((PROBLEMS / code / kind).glob("*/expected.json"))
            assert found, f"{code} has no {kind} case under tests/fixtures/problems/{code}/{kind}/"
            for path in found:
                expected = json.loads(path.read_text())
                assert (len(expected) > 0) == (kind == "fire"), f"{path}: fire expects findings"
                assert all(e["rule"] == code for e in expected), f"{path}: findings of {code} only"


def test_no_stored_symlink_leads_back_up() -> None:
    # pytest collects tests/ by walking it and follows such a link forever: setup.json makes them.
    for path in PROBLEMS.rglob("*"):
        if path.is_symlink() and path.is_dir():
            target = path.resolve()
            assert target not in path.parents, f"{path} -> its own ancestor: use setup.json"
