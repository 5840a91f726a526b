"""Helpers shared by the deploy/rollback/fix tests: small site trees in the release layout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from premortem.ops.deploy.releases import SiteLayout
from premortem.ops.lab import Lab
from premortem.ops.lab.procs import free_port
from premortem.siteconfig import SiteConfig, read_site_config

# wp-settings.php line 156 as WordPress ships it, and with the seed incident's typo.
GOOD = "require_once ABSPATH . WPINC . '/class-wp-locale.php';"
TYPO = "require_once ABSPATH . WPINC . '/class-wp-locale.phpp';"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`premortem ARGS` in a child process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "premortem", *args], capture_output=True, text=True, check=False
    )


@contextmanager
def private_lab(prefix: str, server: str | None = None) -> Iterator[Lab]:
    """A lab of the test's own on a free port (tests that switch `current` or mark releases
    bad must not disturb the shared session labs), destroyed afterwards."""
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(base, 0o755)
    lab = Lab(base / "lab", progress=lambda m: print(m, file=sys.stderr))
    try:
        lab.up(port=free_port(), server=server)
        yield lab
    finally:
        try:
            lab.destroy()
        finally:
            shutil.rmtree(base, ignore_errors=True)


def release_sources(lab: Lab, base: Path) -> dict[str, Path]:
    """good: the lab's release as shipped; seed: the same with the seed's typo at line 156."""
    good = base / "good"
    shutil.copytree(lab.release_dir, good, symlinks=True)
    seed = base / "seed"
    shutil.copytree(good, seed, symlinks=True)
    settings = seed / "wp-settings.php"
    text = settings.read_text()
    assert text.splitlines()[155] == GOOD
    settings.unlink()  # a new file, not the hard-linked one
    settings.write_text(text.replace(GOOD, TYPO))
    return {"good": good, "seed": seed}


def make_site(root: Path, releases: list[str], current: str | None) -> Path:
    """<root>/releases/<name>/index.php for each name, shared/, current -> current."""
    (root / "releases").mkdir(parents=True)
    (root / "shared" / "wp-content" / "uploads").mkdir(parents=True)
    (root / "shared" / "wp-config.php").write_text("<?php define('DB_PASSWORD', 's3cret');\n")
    for name in releases:
        release = root / "releases" / name
        release.mkdir()
        (release / "index.php").write_text(f"<?php echo '{name}';\n")
    if current is not None:
        os.symlink(f"releases/{current}", root / "current")
    return root


def site_config(root: Path, url: str = "http://127.0.0.1:9/") -> SiteConfig:
    return SiteConfig(
        url=url,
        site_root=str(root),
        docroot=str(root / "current"),
        state_dir=str(root.parent / "state"),
    )


class LoopbackLoad:
    """`clients` threads requesting `paths` of `url` in a loop until stopped, as users would.

    A request fails when it answers >= 500 or gets no answer at all. Each client keeps one
    connection alive (as browsers do) and, like a browser, retries once a request whose
    kept-alive connection the server had already closed (nothing was processed): seen as a
    RemoteProtocolError (closed before the request was read) or a ReadError (reset: nginx's
    old workers close idle kept-alive connections on a graceful reload). Retries are counted.
    """

    def __init__(self, url: str, clients: int = 8, paths: tuple[str, ...] = ("/",)) -> None:
        import threading

        self.url = url.rstrip("/")
        self.clients = clients
        self.paths = paths
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.served = 0
        self.retried = 0
        self.failed: list[tuple[float, str]] = []
        self.threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(clients)
        ]

    def _run(self, number: int) -> None:
        import time

        import httpx

        with httpx.Client(timeout=30, follow_redirects=False) as client:
            turn = number
            while not self.stop_event.is_set():
                path = self.paths[turn % len(self.paths)]
                turn += 1
                outcome: str | None
                try:
                    status = client.get(self.url + path).status_code
                    outcome = None if status < 500 else f"{path} {status}"
                except (httpx.RemoteProtocolError, httpx.ReadError):
                    with self.lock:
                        self.retried += 1
                    try:
                        status = client.get(self.url + path).status_code
                        outcome = None if status < 500 else f"{path} {status}"
                    except httpx.HTTPError as exc:
                        outcome = f"{path} {type(exc).__name__}"
                except httpx.HTTPError as exc:
                    outcome = f"{path} {type(exc).__name__}"
                with self.lock:
                    if outcome is None:
                        self.served += 1
                    else:
                        self.failed.append((time.monotonic(), outcome))

    def __enter__(self) -> LoopbackLoad:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=60)


def layout_of(lab: Lab) -> SiteLayout:
    return SiteLayout(Path(read_site_config(lab.config_path).site_root))


def deploy_under_load(lab: Lab, src: Path, *extra: str) -> tuple[dict[str, Any], LoopbackLoad]:
    """`premortem deploy SRC --format json` while 8 loopback clients load the site; the
    JSON result (with the exit code as `returncode`) and the load's account."""
    with LoopbackLoad(lab.url, 8, ("/", "/wp-login.php")) as load:
        time.sleep(0.5)
        proc = cli("deploy", str(src), "--config", str(lab.config_path), "--format", "json", *extra)
        time.sleep(0.5)
    assert proc.stdout, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    result["returncode"] = proc.returncode
    return result, load
