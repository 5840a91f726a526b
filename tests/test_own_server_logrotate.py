"""watch keeps reading a site's access log across logrotate, run with Debian's own
/etc/logrotate.d/apache2 (rename + create, then a graceful reload) and with the same
config in copytruncate mode, on a private instance of Debian's apache2 layout: after each
rotation, a fault opens an incident from the new log's lines."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from debian_site import DebianApacheSite
from own_server import premortem, site_base
from premortem.store import open_store

pytestmark = pytest.mark.lab

PAGE = """<?php
if (file_exists(__DIR__ . '/broken')) { http_response_code(500); echo 'down'; exit; }
echo '<!DOCTYPE html><html><body>blog</body></html>';
"""


@pytest.fixture(scope="module")
def site() -> Iterator[DebianApacheSite]:
    with site_base("premortem-own-logrotate-") as base:
        docroot = base / "www" / "blog"
        docroot.mkdir(parents=True)
        (docroot / "index.php").write_text(PAGE)
        instance = DebianApacheSite(base, docroot)
        instance.build()
        instance.start()
        try:
            yield instance
        finally:
            instance.stop()


def rotate(site: DebianApacheSite, state: Path, *, copytruncate: bool) -> None:
    """Debian's /etc/logrotate.d/apache2, pointed at the instance's logs and reload."""
    config = Path("/etc/logrotate.d/apache2").read_text()
    config = config.replace("/var/log/apache2/*.log", f"{site.log_dir}/*.log")
    config = config.replace(
        "invoke-rc.d apache2 reload", f"APACHE_CONFDIR={site.confdir} apache2ctl graceful"
    )
    if copytruncate:
        config = config.replace("\tcreate 640 root adm\n", "\tcopytruncate\n")
    path = state.parent / ("logrotate-copytruncate.conf" if copytruncate else "logrotate.conf")
    path.write_text(config)
    rotated = subprocess.run(
        ["logrotate", "-f", "-s", str(state), str(path)], capture_output=True, text=True
    )
    assert rotated.returncode == 0, rotated.stderr


class Visitors(threading.Thread):
    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stopped = url, threading.Event()

    def run(self) -> None:
        with httpx.Client(trust_env=False, timeout=5) as client:
            while not self.stopped.is_set():
                client.get(self.url)
                time.sleep(0.1)


def until(check: Callable[[], bool], timeout: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.2)
    return None


def test_incidents_open_from_the_log_after_each_rotation(
    site: DebianApacheSite, tmp_path: Path
) -> None:
    assert premortem("init", site.url, cwd=tmp_path).returncode == 0
    state = tmp_path / "state"
    watch = subprocess.Popen(
        [sys.executable, "-m", "premortem", "watch", "--config", "premortem.toml",
         "--state-dir", str(state), "--no-auto-diagnose", "--interval", "60s",
         "--window", "3s", "--min-requests", "5", "--healthy", "3s"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    visitors = Visitors(site.url)
    visitors.start()
    broken = site.docroot / "broken"

    def incidents(status: str) -> int:
        if not (state / "premortem.sqlite3").exists():
            return 0
        with open_store(state) as store:
            return len(store.incidents(status=status))

    try:
        assert until(lambda: (state / "premortem.sqlite3").exists(), 20) is not None
        for round_number, copytruncate in enumerate((False, True), 1):
            time.sleep(2)
            rotate(site, tmp_path / "logrotate.state", copytruncate=copytruncate)
            broken.touch()
            detected = until(
                lambda n=round_number: incidents("open") + incidents("resolved") >= n, 15
            )  # type: ignore[misc]
            assert detected is not None, f"no incident after rotation {round_number}"
            broken.unlink()
            assert until(lambda n=round_number: incidents("resolved") >= n, 30) is not None  # type: ignore[misc]
        assert (site.log_dir / "access.log.1").exists()
        with open_store(state) as store:
            assert [i.trigger for i in store.incidents()] == ["error-rate", "error-rate"]
    finally:
        visitors.stopped.set()
        broken.unlink(missing_ok=True)
        watch.send_signal(signal.SIGTERM)
        watch.wait(timeout=20)
