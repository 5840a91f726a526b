"""`premortem adopt` on a site premortem did not build: Debian's apache2 layout (a private
instance, tests/debian_site.py) serving a copy of the lab's WordPress in place.

The module's tests run in order on one site: init, adopt under load, deploy under load, the
seed release stopped by the gate, rollback, adopt --undo under load. The load is 8 loopback
clients (tests/deploy_helpers.LoopbackLoad) for as long as each command runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from debian_site import DebianApacheSite
from deploy_helpers import GOOD, TYPO, LoopbackLoad
from premortem.ops.lab import Lab
from premortem.siteconfig import read_site_config

pytestmark = pytest.mark.lab

PATHS = ("/", "/wp-login.php")


@dataclass
class AdoptSite:
    site: DebianApacheSite
    base: Path
    config: Path
    vhost_bytes: bytes
    config_bytes: bytes

    @property
    def site_root(self) -> Path:
        return self.site.docroot.with_name(self.site.docroot.name + ".premortem")


def premortem(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "premortem", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def under_load(
    url: str, *args: str, cwd: Path
) -> tuple[subprocess.CompletedProcess[str], LoopbackLoad]:
    with LoopbackLoad(url, 8, PATHS) as load:
        time.sleep(0.5)
        proc = premortem(*args, cwd=cwd)
        time.sleep(0.5)
    print(
        f"{args[0]}: exit {proc.returncode}, {load.served} requests served, "
        f"{len(load.failed)} failed, {load.retried} kept-alive retries",
        file=sys.stderr,
    )
    return proc, load


def tree_state(root: Path) -> dict[str, tuple[int, int, int, int]]:
    """(size, mtime_ns, mode, uid) of every entry: what "left untouched" means."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            st = os.lstat(os.path.join(dirpath, name))
            rel = os.path.relpath(os.path.join(dirpath, name), root)
            state[rel] = (st.st_size, st.st_mtime_ns, st.st_mode, st.st_uid)
    return state


@pytest.fixture(scope="module")
def adopt_site(lab: Lab) -> Iterator[AdoptSite]:
    """A fresh copy of the lab's WordPress in place in a private Debian apache2 instance,
    with the premortem.toml `premortem init` writes for it."""
    lab.repair()
    lab.wait_healthy(timeout=20)
    base = Path(tempfile.mkdtemp(prefix="premortem-adopt-site-", dir="/tmp"))
    os.chmod(base, 0o755)
    docroot = base / "www" / "blog"
    docroot.parent.mkdir(parents=True)
    release = os.path.realpath(read_site_config(lab.config_path).docroot)
    # -L: shared files become plain files, as in a docroot WordPress was unpacked into.
    subprocess.run(["cp", "-aL", release, str(docroot)], check=True)
    site = DebianApacheSite(base, docroot)
    site.build()
    site.start()
    try:
        config = base / "premortem.toml"
        init = premortem("init", site.url, "-o", str(config), cwd=base)
        assert init.returncode == 0, init.stderr
        yield AdoptSite(site, base, config, site.vhost_file.read_bytes(), config.read_bytes())
    finally:
        try:
            site.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)


def test_adopt_under_load_fails_no_request(adopt_site: AdoptSite) -> None:
    site, docroot = adopt_site.site, adopt_site.site.docroot
    config = read_site_config(adopt_site.config)
    assert config.site_root == config.docroot == str(docroot)
    config_php = os.stat(docroot / "wp-config.php")
    untouched = tree_state(docroot)

    proc, load = under_load(
        site.url,
        "adopt",
        "--config",
        str(adopt_site.config),
        "--yes",
        "--format",
        "json",
        cwd=adopt_site.base,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["outcome"] == "adopted", result["reason"]
    print(
        f"adopt: {result['timings']}, new tree served {result['new_tree_seconds']}s "
        f"after the reload ({'; '.join(result['refreshed'])})",
        file=sys.stderr,
    )
    assert load.failed == [] and load.served > 50

    root = adopt_site.site_root
    adopted = read_site_config(adopt_site.config)
    assert (adopted.site_root, adopted.docroot) == (str(root), str(root / "current"))
    vhost = site.vhost_file.read_text()
    assert f"DocumentRoot {root}/current\n" in vhost and f"<Directory {root}/current>" in vhost
    assert (site.confdir / "sites-enabled" / site.vhost_file.name).is_symlink()
    # The old docroot is left exactly as it was; the shared files keep owner, group, mode.
    assert tree_state(docroot) == untouched
    shared = os.stat(root / "shared" / "wp-config.php")
    assert (shared.st_uid, shared.st_gid, shared.st_mode) == (
        config_php.st_uid,
        config_php.st_gid,
        config_php.st_mode,
    )
    release = root / "releases" / result["release"]
    assert os.readlink(release / "wp-config.php") == "../../shared/wp-config.php"
    assert os.path.realpath(root / "current") == str(release)
    listed = premortem(
        "releases", "--config", str(adopt_site.config), "--format", "json", cwd=adopt_site.base
    )
    assert [(r["name"], r["current"], r["bad"]) for r in json.loads(listed.stdout)] == [
        (result["release"], True, False)
    ]


def test_deploy_after_adopt_fails_no_request(adopt_site: AdoptSite) -> None:
    good = adopt_site.base / "build-good"
    shutil.copytree(adopt_site.site.docroot, good, symlinks=True)
    (good / "premortem-release.txt").write_text("good\n")
    proc, load = under_load(
        adopt_site.site.url,
        "deploy",
        str(good),
        "--config",
        str(adopt_site.config),
        "--format",
        "json",
        "--verify-seconds",
        "5",
        cwd=adopt_site.base,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["outcome"] == "deployed"
    assert load.failed == [] and load.served > 50
    answer = httpx.get(adopt_site.site.url + "premortem-release.txt", timeout=10)
    assert answer.text == "good\n"


def test_the_seed_release_is_stopped_by_the_gate(adopt_site: AdoptSite) -> None:
    seed = adopt_site.base / "build-seed"
    shutil.copytree(adopt_site.site.docroot, seed, symlinks=True)
    settings = seed / "wp-settings.php"
    settings.write_text(settings.read_text().replace(GOOD, TYPO))
    current = os.path.realpath(adopt_site.site_root / "current")
    proc = premortem(
        "deploy",
        str(seed),
        "--config",
        str(adopt_site.config),
        "--format",
        "json",
        cwd=adopt_site.base,
    )
    assert proc.returncode == 1, proc.stderr
    result = json.loads(proc.stdout)
    assert (result["outcome"], result["stopped_at"]) == ("stopped", "gate")
    assert "class-wp-locale.phpp" in json.dumps(result["gate"])
    assert os.path.realpath(adopt_site.site_root / "current") == current


def test_rollback_after_adopt(adopt_site: AdoptSite) -> None:
    proc = premortem(
        "rollback",
        "--config",
        str(adopt_site.config),
        "--verify-seconds",
        "2",
        cwd=adopt_site.base,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The rolled-back release's file is gone: WordPress answers the missing URL, with a 404
    # or (the vhost's port is not the one WordPress's home URL names) its canonical 301.
    answer = httpx.get(adopt_site.site.url + "premortem-release.txt", timeout=10)
    assert answer.status_code in (301, 404), (answer.status_code, proc.stdout)
    assert answer.text != "good\n"


def test_undo_restores_the_vhost_byte_for_byte(adopt_site: AdoptSite) -> None:
    site = adopt_site.site
    proc, load = under_load(
        site.url,
        "adopt",
        "--undo",
        "--config",
        str(adopt_site.config),
        "--yes",
        cwd=adopt_site.base,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert load.failed == []
    assert site.vhost_file.read_bytes() == adopt_site.vhost_bytes
    assert (site.confdir / "sites-enabled" / site.vhost_file.name).is_symlink()
    assert adopt_site.config.read_bytes() == adopt_site.config_bytes
    assert httpx.get(site.url + "wp-login.php", timeout=10).status_code == 200
    out = " ".join(proc.stdout.split())
    assert f"rm -rf {adopt_site.site_root}" in out and adopt_site.site_root.is_dir()
    again = premortem(
        "adopt", "--undo", "--config", str(adopt_site.config), "--yes", cwd=adopt_site.base
    )
    assert again.returncode == 2 and "no adopt to undo" in again.stderr
