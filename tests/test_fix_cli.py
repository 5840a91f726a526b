"""fix's command line on a small site: secrets stay out of the diff, clear errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

from deploy_helpers import cli, make_site, site_config
from premortem.siteconfig import write_site_config

WP_CONFIG = """<?php
define('DB_HOST', 'localhost:3307');
define('DB_PASSWORD', 'hunter2-very-secret');
define('AUTH_KEY', 'k3y-material-that-must-not-leak');
"""


def _site(tmp_path: Path) -> Path:
    root = make_site(tmp_path / "site", ["20261126T000000Z"], "20261126T000000Z")
    (root / "shared" / "wp-config.php").write_text(WP_CONFIG)
    os.symlink(
        "../../shared/wp-config.php", root / "releases" / "20261126T000000Z" / "wp-config.php"
    )
    toml = tmp_path / "premortem.toml"
    write_site_config(site_config(root), toml)
    diagnosis = {
        "findings": [
            {
                "rule": "database-connection",
                "severity": "error",
                "message": "MariaDB listens on 3306, wp-config.php says 3307",
                "file": "wp-config.php",
                "line": 2,
                "fix": {
                    "description": "point DB_HOST at the port MariaDB listens on",
                    "edits": [{"file": "wp-config.php", "line": 2, "old": "3307", "new": "3306"}],
                },
            }
        ]
    }
    (tmp_path / "diagnosis.json").write_text(json.dumps(diagnosis))
    return toml


def test_diff_of_wp_config_hides_secrets(tmp_path: Path) -> None:
    toml = _site(tmp_path)
    proc = cli(
        "fix", "--config", str(toml), "--from", str(tmp_path / "diagnosis.json"), "--dry-run"
    )
    assert proc.returncode == 0, proc.stderr
    assert "-define('DB_HOST', 'localhost:3307');" in proc.stdout
    assert "+define('DB_HOST', 'localhost:3306');" in proc.stdout
    everything = proc.stdout + proc.stderr
    assert "hunter2-very-secret" not in everything
    assert "k3y-material-that-must-not-leak" not in everything
    assert (tmp_path / "site" / "shared" / "wp-config.php").read_text() == WP_CONFIG


def test_without_yes_and_without_a_terminal_nothing_is_applied(tmp_path: Path) -> None:
    toml = _site(tmp_path)
    proc = cli("fix", "--config", str(toml), "--from", str(tmp_path / "diagnosis.json"))
    assert proc.returncode == 2
    assert "--yes" in proc.stderr and "Traceback" not in proc.stderr
    assert (tmp_path / "site" / "shared" / "wp-config.php").read_text() == WP_CONFIG


def test_bad_diagnosis_file_is_a_clear_error(tmp_path: Path) -> None:
    toml = _site(tmp_path)
    (tmp_path / "bad.json").write_text("[1, 2")
    proc = cli("fix", "--config", str(toml), "--from", str(tmp_path / "bad.json"))
    assert proc.returncode == 2
    assert "not valid JSON" in " ".join(proc.stderr.split()) and "Traceback" not in proc.stderr
