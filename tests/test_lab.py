"""The lab end to end (issue #2): up -> 200; seed -> 500 with a silent error log;
repair -> 200; down leaves no lab process; a second up (warm) serves 200 again."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import psutil
import pytest

from premortem.ops.lab import Lab
from premortem.siteconfig import read_site_config

pytestmark = pytest.mark.lab


def _lab_processes(lab: Lab) -> list[psutil.Process]:
    """Every live process whose command line names the lab's own config files."""
    markers = (str(lab.paths.httpd_conf), str(lab.paths.my_cnf))
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["status"] != psutil.STATUS_ZOMBIE and any(m in cmdline for m in markers):
            found.append(proc)
    return found


def test_lab_up_serves_wordpress_and_writes_site_config(healthy_lab: Lab) -> None:
    status = healthy_lab.status()
    assert status.running and status.apache_running and status.db_running
    home = healthy_lab.get("/")
    assert home.status_code == 200
    assert "premortem lab" in home.text  # WordPress rendered the installed blog's title
    assert healthy_lab.get("/wp-login.php").status_code == 200

    config = read_site_config(healthy_lab.config_path)
    assert config.url == status.url
    assert config.server == "apache"
    assert config.docroot == str(healthy_lab.paths.current)
    assert config.error_log == status.error_log
    assert config.access_log == status.access_log
    assert config.extra["lab"]["port"] == status.port
    # The combined format: the request line, status, bytes, referer and user agent.
    # Apache logs after it has answered, so wait a moment for the line.
    deadline = time.monotonic() + 5
    last = ""
    while time.monotonic() < deadline and '"GET /wp-login.php' not in last:
        last = healthy_lab.paths.access_log.read_text().splitlines()[-1]
        time.sleep(0.05)
    assert '"GET /wp-login.php HTTP/1.1" 200 ' in last and '"python-httpx/' in last

    # Secrets stay in the 0600 file and wp-config.php, never in premortem.toml.
    password = healthy_lab.paths.db_password_file.read_text().strip()
    assert healthy_lab.paths.db_password_file.stat().st_mode & 0o077 == 0
    assert password not in healthy_lab.config_path.read_text()
    assert password in healthy_lab.paths.shared_wp_config.read_text()


def test_release_layout_as_deploy_manages_it(healthy_lab: Lab) -> None:
    paths = healthy_lab.paths
    release = healthy_lab.release_dir
    assert paths.current.is_symlink()
    assert release.parent == paths.releases
    assert (release / "wp-config.php").resolve() == paths.shared_wp_config
    assert (release / "wp-content" / "uploads").resolve() == paths.shared_uploads
    # Self-contained: no link out of the lab (Debian's links to /usr/share, /etc dereferenced).
    for path in release.rglob("*"):
        if path.is_symlink():
            assert str(path.resolve()).startswith(str(paths.site)), path
    assert "/etc/wordpress" not in paths.shared_wp_config.read_text()


def test_up_again_keeps_wp_config_and_its_salts(healthy_lab: Lab) -> None:
    config = healthy_lab.paths.shared_wp_config
    before = config.read_bytes()
    state = healthy_lab.state
    assert state is not None
    healthy_lab.down()
    healthy_lab.up(port=state.port)
    assert config.read_bytes() == before


def test_second_up_finds_it_running(healthy_lab: Lab) -> None:
    before = healthy_lab.status().pids
    state = healthy_lab.state
    assert state is not None
    after = healthy_lab.up(port=state.port)
    assert after.running
    assert after.pids["apache"][0] == before["apache"][0]
    assert after.pids["mariadb"] == before["mariadb"]


def test_seed_breaks_silently_repair_heals_down_stops_everything(healthy_lab: Lab) -> None:
    lab = healthy_lab
    settings = lab.release_dir / "wp-settings.php"
    original = settings.read_bytes()
    original_stat = settings.stat()

    lab.break_scenario("seed")
    log_size = lab.paths.error_log.stat().st_size
    for _ in range(3):
        assert lab.get("/").status_code == 500
    assert b"class-wp-locale.phpp" in settings.read_bytes().splitlines()[155]
    # The seed's silence: PHP logs nothing about the fatal error.
    time.sleep(0.2)
    appended = lab.paths.error_log.read_bytes()[log_size:]
    assert b"PHP" not in appended and b"phpp" not in appended, appended
    assert lab.status().fault == "seed"

    lab.repair()
    assert settings.read_bytes() == original
    assert settings.stat().st_mtime_ns == original_stat.st_mtime_ns
    assert lab.get("/").status_code == 200
    assert lab.status().fault is None

    pids = [pid for group in lab.status().pids.values() for pid in group]
    assert pids and _lab_processes(lab)
    lab.down()
    assert not lab.status().running
    assert not _lab_processes(lab)
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids)

    # Warm start: data kept, site back in seconds.
    state = lab.state
    assert state is not None
    started = time.monotonic()
    lab.up(port=state.port)
    warm = time.monotonic() - started
    assert lab.get("/").status_code == 200
    assert warm < 30, warm


def test_cli_status_and_up_on_the_running_lab(healthy_lab: Lab) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "premortem", "lab", *args, "--dir", str(healthy_lab.dir)],
            capture_output=True,
            text=True,
            check=False,
        )

    status = cli("status", "--format", "json")
    assert status.returncode == 0
    data = json.loads(status.stdout)
    assert data["running"] is True and data["url"] == healthy_lab.url
    assert data["config"] == str(healthy_lab.config_path)
    assert data["pids"]["apache"] and data["pids"]["mariadb"]

    again = cli("up", "--port", str(data["port"]))
    assert again.returncode == 0
    assert "already running" in again.stderr and again.stdout.strip() == healthy_lab.url

    text = cli("status")
    assert text.returncode == 0 and "lab running" in text.stdout
    listing = subprocess.run(
        [sys.executable, "-m", "premortem", "lab", "break", "--list"],
        capture_output=True,
        text=True,
        check=False,
    )
    # The DB password and WordPress's keys never reach any output.
    password = healthy_lab.paths.db_password_file.read_text().strip()
    secrets_text = healthy_lab.paths.shared_wp_config.read_text()
    salt = secrets_text.split("define('AUTH_KEY', '")[1].split("'")[0]
    for proc in (status, again, text, listing):
        for secret in (password, salt):
            assert secret not in proc.stdout + proc.stderr
