"""fix's plan: findings from a saved diagnosis, edits resolved inside the site, unified diff."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fix_helpers import GOOD, TYPO, config_for, seed_site
from premortem.errors import PremortemError
from premortem.model import Edit, Finding, Fix
from premortem.ops.remedy import choose_finding, load_findings, plan_fix

FIXTURES = Path(__file__).parent / "fixtures" / "deploy"


def _finding(
    file: str, old: str = "class-wp-locale.phpp", new: str = "class-wp-locale.php", line: int = 156
) -> Finding:
    return Finding(
        rule="missing-file",
        severity="error",
        message="m",
        file=file,
        line=line,
        fix=Fix("d", edits=(Edit(file, line, old, new),)),
    )


def test_saved_diagnosis_gives_the_seed_edit(tmp_path: Path) -> None:
    findings = load_findings(FIXTURES / "seed-diagnosis.json")
    assert len(findings) == 2
    chosen = choose_finding(findings, None)
    assert chosen.rule == "missing-file" and chosen.fix is not None
    assert chosen.fix.edits[0] == Edit(
        "wp-settings.php", 156, "class-wp-locale.phpp", "class-wp-locale.php"
    )
    with pytest.raises(PremortemError, match="no file edits"):
        choose_finding(findings, 2)
    with pytest.raises(PremortemError, match="has 2 findings"):
        choose_finding(findings, 3)


def test_bad_diagnosis_files(tmp_path: Path) -> None:
    with pytest.raises(PremortemError, match="does not exist"):
        load_findings(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(PremortemError, match="not valid JSON"):
        load_findings(tmp_path / "bad.json")
    (tmp_path / "empty.json").write_text('{"findings": []}')
    with pytest.raises(PremortemError, match="no findings"):
        choose_finding(load_findings(tmp_path / "empty.json"), None)


def test_plan_and_unified_diff(tmp_path: Path) -> None:
    settings = seed_site(tmp_path / "site")
    config = config_for(tmp_path / "site", "http://127.0.0.1:9/")
    plan = plan_fix(_finding("wp-settings.php"), config)
    assert plan.changed
    assert plan.files[0].path == Path(os.path.realpath(settings))
    diff = plan.diff()
    assert diff.startswith("--- a/wp-settings.php\n+++ b/wp-settings.php\n")
    assert f"-{TYPO}\n" in diff and f"+{GOOD}\n" in diff
    assert "@@ -153,7 +153,7 @@" in diff
    assert settings.read_text().count(TYPO) == 1  # planning writes nothing


def test_already_applied_is_not_a_change(tmp_path: Path) -> None:
    settings = seed_site(tmp_path / "site")
    settings.write_text(settings.read_text().replace(TYPO, GOOD))
    plan = plan_fix(_finding("wp-settings.php"), config_for(tmp_path / "site", "x"))
    assert not plan.changed and plan.files[0].changes[0].already_applied


def test_changed_file_is_refused(tmp_path: Path) -> None:
    seed_site(tmp_path / "site")
    with pytest.raises(PremortemError, match="changed since the diagnosis"):
        plan_fix(_finding("wp-settings.php", line=150), config_for(tmp_path / "site", "x"))


@pytest.mark.parametrize("name", ["../../../etc/hosts", "/etc/hosts", "evil.php"])
def test_files_outside_the_site_are_refused(tmp_path: Path, name: str) -> None:
    seed_site(tmp_path / "site")
    os.symlink("/etc/hosts", tmp_path / "site" / "releases" / "20261126T000000Z" / "evil.php")
    hosts_before = Path("/etc/hosts").read_bytes()
    with pytest.raises(PremortemError, match="outside the site"):
        plan_fix(
            _finding(name, old="127.0.0.1", new="10.6.6.6", line=1),
            config_for(tmp_path / "site", "x"),
        )
    assert Path("/etc/hosts").read_bytes() == hosts_before


def test_outside_diagnosis_fixture_is_refused(tmp_path: Path) -> None:
    seed_site(tmp_path / "site")
    finding = choose_finding(load_findings(FIXTURES / "outside-diagnosis.json"), None)
    with pytest.raises(PremortemError, match="outside the site"):
        plan_fix(finding, config_for(tmp_path / "site", "x"))
