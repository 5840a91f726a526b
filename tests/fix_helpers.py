"""A small site whose wp-settings.php carries the seed's typo on line 156, and a loopback HTTP
server that answers 500 while it does (as mod_php would), for the fix tests."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from deploy_helpers import GOOD, TYPO, cli, make_site, site_config
from premortem.ops.lab import Lab
from premortem.siteconfig import SiteConfig, read_site_config
from premortem.store import open_store

WORDPRESS = Path("/usr/share/wordpress")
RELEASE = "20261126T000000Z"


def seed_site(root: Path) -> Path:
    make_site(root, [RELEASE], RELEASE)
    text = (WORDPRESS / "wp-settings.php").read_text()
    assert text.count(GOOD) == 1
    settings = root / "releases" / RELEASE / "wp-settings.php"
    settings.write_text(text.replace(GOOD, TYPO))
    os.chmod(settings, 0o640)
    os.chown(settings, 0, 33)
    return settings


def status(lab: Lab) -> int:
    """The HTTP status the lab's site answers now."""
    return httpx.get(lab.url, timeout=30).status_code


def seed_dry_run_then_fix(
    lab: Lab,
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """Break the lab with the seed, `fix --dry-run` (changes nothing), then `fix --yes`
    (site back to 200, typo gone, backup of the broken file, event recorded)."""
    lab.break_scenario("seed")
    settings = lab.release_dir / "wp-settings.php"
    broken = settings.read_bytes()
    assert status(lab) == 500
    dry = cli("fix", "--config", str(lab.config_path), "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "+require_once ABSPATH . WPINC . '/class-wp-locale.php';" in dry.stdout
    assert settings.read_bytes() == broken
    assert status(lab) == 500
    fixed = cli("fix", "--config", str(lab.config_path), "--yes")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert status(lab) == 200
    assert "class-wp-locale.phpp'" not in settings.read_text()
    state = read_site_config(lab.config_path).path_of_state
    backups = sorted((state / "backups").glob("fix-*"))
    manifest = json.loads((backups[-1] / "manifest.json").read_text())
    assert Path(manifest["files"][0]["backup"]).read_bytes() == broken
    with open_store(state) as store:
        assert store.events(kinds=["fix.applied"])
    return dry, fixed


@contextmanager
def site_server(settings: Path) -> Iterator[str]:
    """GET answers 500 while `settings` holds the typo, else 200."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            broken = ".phpp'" in settings.read_text()
            self.send_response(500 if broken else 200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def config_for(root: Path, url: str) -> SiteConfig:
    return site_config(root, url)
