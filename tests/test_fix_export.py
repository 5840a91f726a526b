"""--export: the shell script and the Puppet manifest apply the same change, idempotently."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from fix_helpers import GOOD, TYPO, config_for, seed_site
from premortem.model import Edit, Finding, Fix
from premortem.ops.remedy import export_puppet, export_shell, plan_fix

TRICKY_OLD = "$x = 'a\\\\b';"  # backslashes, quotes and $ must survive exactly


def _finding(edits: tuple[Edit, ...]) -> Finding:
    return Finding(
        rule="missing-file",
        severity="error",
        message="m",
        file="wp-settings.php",
        line=156,
        fix=Fix("point the include at class-wp-locale.php", edits=edits),
    )


def _seed_plan(root: Path) -> tuple[Path, Finding]:
    settings = seed_site(root)
    lines = settings.read_text().splitlines(keepends=True)
    lines[9] = TRICKY_OLD + "\n"
    settings.write_text("".join(lines))
    finding = _finding(
        (
            Edit("wp-settings.php", 156, "class-wp-locale.phpp", "class-wp-locale.php"),
            Edit("wp-settings.php", 10, "'a\\\\b'", "'c\\\\d $HOME'"),
        )
    )
    return settings, finding


def test_shell_script_applies_once_then_is_a_no_op(tmp_path: Path) -> None:
    settings, finding = _seed_plan(tmp_path / "site")
    plan = plan_fix(finding, config_for(tmp_path / "site", "x"))
    script = tmp_path / "fix.sh"
    script.write_text(export_shell(plan))
    env = {"PATH": "/usr/bin:/bin", "PREMORTEM_BACKUP_DIR": str(tmp_path / "bak")}
    first = subprocess.run(
        ["sh", str(script)], capture_output=True, text=True, env=env, check=False
    )
    assert first.returncode == 0, first.stderr
    assert settings.read_bytes() == plan.files[0].after
    assert "wp-settings.php:156: fixed" in first.stdout
    assert (tmp_path / "bak").is_dir()
    second = subprocess.run(
        ["sh", str(script)], capture_output=True, text=True, env=env, check=False
    )
    assert second.returncode == 0, second.stderr
    assert "already applied" in second.stdout and "fixed" not in second.stdout
    assert settings.read_bytes() == plan.files[0].after
    assert oct(settings.stat().st_mode & 0o777) == "0o640" and settings.stat().st_gid == 33


def test_shell_script_refuses_unexpected_content(tmp_path: Path) -> None:
    settings, finding = _seed_plan(tmp_path / "site")
    plan = plan_fix(finding, config_for(tmp_path / "site", "x"))
    settings.write_text(settings.read_text().replace(TYPO, "// someone edited this line"))
    before = settings.read_bytes()
    script = tmp_path / "fix.sh"
    script.write_text(export_shell(plan))
    proc = subprocess.run(["sh", str(script)], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "unexpected content" in proc.stderr
    assert settings.read_bytes() == before


def test_puppet_manifest_applies_once_then_is_a_no_op(tmp_path: Path) -> None:
    settings, finding = _seed_plan(tmp_path / "site")
    plan = plan_fix(finding, config_for(tmp_path / "site", "x"))
    manifest = tmp_path / "fix.pp"
    manifest.write_text(export_puppet(plan))
    puppet = shutil.which("puppet")
    assert puppet is not None, "puppet is in TEST_PACKAGES (make test-deps installs it)"
    common = [
        puppet,
        "apply",
        "--detailed-exitcodes",
        "--color=false",
        f"--vardir={tmp_path / 'pvar'}",
        f"--confdir={tmp_path / 'pconf'}",
        f"--logdir={tmp_path / 'plog'}",
        f"--rundir={tmp_path / 'prun'}",
        str(manifest),
    ]
    validate = subprocess.run(
        [puppet, "parser", "validate", str(manifest)], capture_output=True, text=True, check=False
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
    first = subprocess.run(common, capture_output=True, text=True, check=False)
    # --detailed-exitcodes: 2 = changes applied, 0 = nothing to do
    assert first.returncode == 2, first.stdout + first.stderr
    assert settings.read_bytes() == plan.files[0].after
    assert GOOD in settings.read_text()
    second = subprocess.run(common, capture_output=True, text=True, check=False)
    assert second.returncode == 0, second.stdout + second.stderr
    assert settings.read_bytes() == plan.files[0].after
