"""premortem on a site it did not build: Debian's apache2 layout, WordPress in a docroot.

The site is a private instance of the apache2 package's own config tree (tests/
debian_site.py) serving a copy of the lab's WordPress (its database is the lab's MariaDB).
Every command runs from an empty directory with no premortem.toml: what it knows of the
site it finds from the URL.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from debian_site import DebianApacheSite
from premortem.ops.lab import Lab
from premortem.siteconfig import read_site_config

pytestmark = pytest.mark.lab

SEED_LINE = "require_once ABSPATH . WPINC . '/class-wp-locale.php';"


@pytest.fixture(scope="module")
def own_site(lab: Lab) -> Iterator[DebianApacheSite]:
    lab.repair()
    lab.wait_healthy(timeout=20)
    base = Path(tempfile.mkdtemp(prefix="premortem-own-site-", dir="/tmp"))
    os.chmod(base, 0o755)
    docroot = base / "www" / "blog"
    docroot.parent.mkdir(parents=True)
    # -L: the release's shared files (wp-config.php, uploads) become plain files, as in a
    # docroot WordPress was unpacked into; -a keeps their owners and modes.
    release = os.path.realpath(read_site_config(lab.config_path).docroot)
    subprocess.run(["cp", "-aL", release, str(docroot)], check=True)
    site = DebianApacheSite(base, docroot)
    site.build()
    site.start()
    try:
        yield site
    finally:
        try:
            site.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)


def premortem(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "premortem", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )
    proc.stderr = " ".join(proc.stderr.split())
    return proc


def test_init_writes_the_config_of_the_vhost_that_answers(
    own_site: DebianApacheSite, tmp_path: Path
) -> None:
    written = tmp_path / "premortem.toml"
    proc = premortem("init", own_site.url, "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    config = read_site_config(written)
    assert config.server == "apache"
    assert config.docroot == str(own_site.docroot)
    assert config.site_root == str(own_site.docroot)
    assert config.access_log == str(own_site.access_log)
    assert config.error_log == str(own_site.error_log)
    assert config.server_config == str(own_site.confdir / "apache2.conf")
    assert config.web_user == "www-data"
    assert not Path(config.state_dir).is_relative_to(own_site.docroot)
    sources = {fact["key"]: fact["source"] for fact in found["facts"]}
    enabled = own_site.confdir / "sites-enabled" / own_site.vhost_file.name
    assert sources["docroot"] == f"{enabled}:4"
    assert found["written"] == "premortem.toml"
    again = premortem("init", own_site.url, cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr


def test_diagnose_and_fix_work_from_the_url_alone(
    own_site: DebianApacheSite, tmp_path: Path
) -> None:
    settings = own_site.docroot / "wp-settings.php"
    original = settings.read_text()
    line = original.splitlines().index(SEED_LINE) + 1
    settings.write_text(original.replace(SEED_LINE, SEED_LINE.replace(".php'", ".phpp'")))
    try:
        assert httpx.get(own_site.url, timeout=10).status_code == 500
        diagnosed = premortem("diagnose", own_site.url, "--format", "json", cwd=tmp_path)
        assert diagnosed.returncode == 1, diagnosed.stderr
        top = json.loads(diagnosed.stdout)["findings"][0]
        assert (top["rule"], top["file"], top["line"]) == ("missing-file", "wp-settings.php", line)
        saved = tmp_path / "diagnosis.json"
        saved.write_text(diagnosed.stdout)
        dry = premortem("fix", "--from", str(saved), "--dry-run", cwd=tmp_path)
        assert dry.returncode == 0, dry.stderr
        assert "+require_once ABSPATH . WPINC . '/class-wp-locale.php';" in dry.stdout
        assert "class-wp-locale.phpp" in settings.read_text()

        fixed = premortem("fix", own_site.url, "--yes", cwd=tmp_path)
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        assert "fixed" in fixed.stdout
        assert settings.read_text() == original
        assert httpx.get(own_site.url, timeout=10).status_code < 500
        state = Path(os.environ["PREMORTEM_STATE_ROOT"]) / f"127.0.0.1-{own_site.port}"
        backups = list((state / "backups").glob("fix-*/**/wp-settings.php"))
        assert len(backups) == 1 and SEED_LINE not in backups[0].read_text()
    finally:
        settings.write_text(original)
