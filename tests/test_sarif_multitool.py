"""check's SARIF passes Microsoft's SARIF validator (the multitool) with no error or warning.

The multitool is installed in .tools/ by `make test-deps` / `make test-unit` (pinned npm
package); without it this test fails and says how to get it, it is not skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from check_helpers import case_tree, run_cli

MULTITOOL = Path(__file__).resolve().parents[1] / ".tools" / "node_modules" / ".bin"


def tree_where_every_rule_fires(root: Path) -> Path:
    """The fire fixtures of several rules in one tree, plus a dangling link and a file the
    web user cannot read."""
    root.mkdir()
    for case in (
        case_tree("missing-include", "fire", "constant-built-typo"),
        case_tree("php-syntax", "fire", "unexpected-brace"),
        case_tree("exposed-source", "fire", "editor-backup"),
    ):
        for item in case.iterdir():
            target = root / item.name
            if item.is_dir():
                subprocess.run(["cp", "-r", str(item), str(target)], check=True)
            else:
                target.write_bytes(item.read_bytes())
    (root / "dangling").symlink_to("nowhere")
    secret = root / "private.php"
    secret.write_text("<?php echo 1;\n")
    secret.chmod(0o600)
    return root


def test_sarif_of_findings_validates_with_no_error_and_no_warning(tmp_path: Path) -> None:
    tool = MULTITOOL / "sarif-multitool"
    assert tool.exists(), "the SARIF multitool is missing: run `make test-deps`"
    tree = tree_where_every_rule_fires(tmp_path / "tree")
    sarif = tmp_path / "check.sarif"
    checked = run_cli("check", str(tree), "--format", "sarif", "--user", "nobody", "-o", str(sarif))
    assert checked.returncode == 1, checked.stderr
    fired = {r["ruleId"] for r in json.loads(sarif.read_text())["runs"][0]["results"]}
    assert {"missing-include", "php-syntax", "broken-symlink", "unreadable"} <= fired
    report = tmp_path / "validation.sarif"
    proc = subprocess.run(
        [str(tool), "validate", str(sarif), "--output", str(report), "--log", "ForceOverwrite"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        # The multitool is a .NET program: without ICU it needs the invariant culture.
        env=dict(os.environ, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT="1"),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    problems = json.loads(report.read_text())["runs"][0]["results"]
    assert problems == [], [(p["ruleId"], p.get("level"), p["message"]) for p in problems]
