"""fix against the real lab with the seed incident injected (`lab break seed`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from deploy_helpers import cli
from fix_helpers import seed_dry_run_then_fix, status
from premortem.ops.lab import Lab

pytestmark = pytest.mark.lab

FIXTURES = Path(__file__).parent / "fixtures" / "deploy"


def test_seed_dry_run_then_fix_yes(healthy_lab: Lab) -> None:
    dry, _ = seed_dry_run_then_fix(healthy_lab)
    assert "-require_once ABSPATH . WPINC . '/class-wp-locale.phpp';" in dry.stdout


def test_exported_shell_script_heals_the_seed(healthy_lab: Lab, tmp_path: Path) -> None:
    lab = healthy_lab
    lab.break_scenario("seed")
    script = tmp_path / "fix.sh"
    # From a saved diagnosis of the seed (the contract diagnose --format json writes).
    export = cli(
        "fix",
        "--config",
        str(lab.config_path),
        "--from",
        str(FIXTURES / "seed-diagnosis.json"),
        "--export",
        "shell",
        "-o",
        str(script),
    )
    assert export.returncode == 0, export.stderr
    assert status(lab) == 500  # exporting changes nothing
    env = {"PATH": "/usr/bin:/bin", "PREMORTEM_BACKUP_DIR": str(tmp_path / "backup")}
    run = subprocess.run(["sh", str(script)], capture_output=True, text=True, env=env, check=False)
    assert run.returncode == 0, run.stderr
    assert status(lab) == 200
    again = subprocess.run(
        ["sh", str(script)], capture_output=True, text=True, env=env, check=False
    )
    assert again.returncode == 0 and "already applied" in again.stdout


def test_fix_that_does_not_heal_is_restored(healthy_lab: Lab) -> None:
    lab = healthy_lab
    lab.break_scenario("seed")
    settings = lab.release_dir / "wp-settings.php"
    broken = settings.read_bytes()
    proc = cli(
        "fix",
        "--config",
        str(lab.config_path),
        "--from",
        str(FIXTURES / "wrong-fix-diagnosis.json"),
        "--yes",
        "--settle",
        "2",
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = " ".join(proc.stdout.split())
    assert "not fixed" in out and "restored wp-settings.php" in out
    assert settings.read_bytes() == broken


def test_fix_refuses_files_outside_the_site(healthy_lab: Lab) -> None:
    hosts = Path("/etc/hosts").read_bytes()
    proc = cli(
        "fix",
        "--config",
        str(healthy_lab.config_path),
        "--from",
        str(FIXTURES / "outside-diagnosis.json"),
        "--yes",
    )
    assert proc.returncode == 2
    message = " ".join(proc.stderr.split())
    assert "refusing to touch" in message and "outside the site" in message
    assert Path("/etc/hosts").read_bytes() == hosts
