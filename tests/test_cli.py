"""The CLI's error paths: clear messages and exit codes, never a traceback."""

from __future__ import annotations

import subprocess
import sys


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "premortem", *args], capture_output=True, text=True, check=False
    )


def test_help_lists_lab() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    assert "lab" in proc.stdout


def test_unknown_command_is_usage_error() -> None:
    proc = run_cli("no-such-command")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "no-such-command" in proc.stderr


def test_every_listed_command_loads_and_has_help() -> None:
    from premortem.cli.commands import COMMANDS

    for name in COMMANDS:
        proc = run_cli(name, "--help")
        assert proc.returncode == 0, (name, proc.stderr)
        assert "Usage:" in proc.stdout


def test_check_does_not_import_the_other_commands() -> None:
    # Start-up time counts on every CI run of `premortem check`.
    code = (
        "import sys; from premortem.cli import cli; "
        "cli.main(['check', '--help'], standalone_mode=False); "
        "print(sorted(m for m in sys.modules if m.startswith('premortem.cli.')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "premortem.cli.check" in proc.stdout
    for other in ("diagnose", "watch", "deploy", "demo"):
        assert f"premortem.cli.{other}'" not in proc.stdout
