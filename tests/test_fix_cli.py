"""fix's command line on a small site: secrets stay out of the diff, clear errors."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


SALTED_CONFIG = """<?php
define('DB_HOST', 'localhost:3307');
define('DB_PASSWORD', 'hunter2-very-secret');
define('AUTH_SALT', 'salt-material-that-must-not-leak');
define('NONCE_KEY', 'nonce-key-that-must-not-leak');
"""
SALTED_SECRETS = (
    "hunter2-very-secret",
    "salt-material-that-must-not-leak",
    "nonce-key-that-must-not-leak",
)


@contextmanager
def page_quoting(text: str) -> Iterator[str]:
    """A site whose every page answers 500 with a PHP fatal error quoting `text`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = f"<b>Fatal error</b>: Uncaught Exception: {text} in /srv/x.php:3\n".encode()
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_fix_hides_what_diagnose_hides(tmp_path: Path) -> None:
    # WordPress also loads wp-config.php from one directory above the docroot; `fix` used
    # to read only the docroot's, and printed the password and salts a plugin copied.
    root = make_site(tmp_path / "site", ["20261126T000000Z"], "20261126T000000Z")
    (root / "wp-config.php").write_text(SALTED_CONFIG)
    (root / "current" / "db-check.php").write_text(
        "<?php\n"
        "$link = mysqli_connect('localhost:3307', 'wp', 'hunter2-very-secret');\n"
        "$mac = hash_hmac('md5', $link->host_info, 'nonce-key-that-must-not-leak');\n"
        "$salt = 'salt-material-that-must-not-leak';\n"
    )
    with page_quoting(" ".join(SALTED_SECRETS)) as url:
        toml = tmp_path / "premortem.toml"
        write_site_config(site_config(root, url), toml)
        diagnosed = cli("diagnose", url, "--config", str(toml), "--format", "json")
    assert diagnosed.returncode in (0, 1), diagnosed.stderr
    assert "Uncaught Exception" in diagnosed.stdout
    edit = {"file": "db-check.php", "line": 2, "old": "3307", "new": "3306"}
    finding = {"rule": "database-connection", "severity": "error", "message": "port"}
    diagnosis = {"findings": [{**finding, "fix": {"description": "port", "edits": [edit]}}]}
    (tmp_path / "diagnosis.json").write_text(json.dumps(diagnosis))
    fixed = cli(
        "fix", "--config", str(toml), "--from", str(tmp_path / "diagnosis.json"), "--dry-run"
    )
    assert fixed.returncode == 0, fixed.stderr
    assert "+$link = mysqli_connect('localhost:3306', 'wp', '[REDACTED]');" in fixed.stdout
    for output in (diagnosed.stdout + diagnosed.stderr, fixed.stdout + fixed.stderr):
        for secret in SALTED_SECRETS:
            assert secret not in output
