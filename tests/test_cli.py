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
