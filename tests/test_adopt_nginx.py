"""`premortem adopt` on Debian's nginx + php-fpm layout (a private instance, tests/
debian_nginx_site.py) serving a copy of the lab's WordPress in place: adopt, a good deploy
and adopt --undo under 8 loopback clients fail no request; the seed release is stopped by
the gate; undo restores the server block byte for byte."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from debian_nginx_site import DebianNginxSite
from deploy_helpers import GOOD, TYPO
from own_server import copy_lab_wordpress, site_base
from premortem.ops.lab import Lab
from premortem.siteconfig import read_site_config
from test_adopt_apache import premortem, under_load

pytestmark = pytest.mark.lab


@dataclass
class AdoptedNginx:
    site: DebianNginxSite
    base: Path
    config: Path
    site_bytes: bytes
    config_bytes: bytes


@pytest.fixture(scope="module")
def nginx_adopt_site(lab: Lab) -> Iterator[AdoptedNginx]:
    with site_base("premortem-adopt-nginx-") as base:
        docroot = base / "www" / "blog"
        copy_lab_wordpress(lab, docroot)
        site = DebianNginxSite(base, docroot)
        site.build()
        try:
            site.start()
            config = base / "premortem.toml"
            init = premortem("init", site.url, "-o", str(config), cwd=base)
            assert init.returncode == 0, init.stderr
            yield AdoptedNginx(site, base, config, site.site_file.read_bytes(), config.read_bytes())
        finally:
            site.stop()


def test_adopt_deploy_gate_and_undo_on_nginx(nginx_adopt_site: AdoptedNginx) -> None:
    site, base, config = nginx_adopt_site.site, nginx_adopt_site.base, nginx_adopt_site.config
    adopted, load = under_load(
        site.url, "adopt", "--config", str(config), "--yes", "--format", "json", cwd=base
    )
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    assert json.loads(adopted.stdout)["outcome"] == "adopted"
    assert load.failed == [] and load.served > 50
    root = read_site_config(config).site_root
    assert f"root {root}/current;" in site.site_file.read_text()

    good = base / "build-good"
    shutil.copytree(site.docroot, good, symlinks=True)
    (good / "premortem-release.txt").write_text("good\n")
    # Debian's php-fpm (opcache on, process_control_timeout = 0) behind Debian's
    # fastcgi-php.conf ($document_root): a refresh would cut requests, so deploy refuses
    # and says how to make it safe; the operator does as it says.
    refused = premortem("deploy", str(good), "--config", str(config), cwd=base)
    assert refused.returncode == 2 and "process_control_timeout = 10s" in refused.stderr
    site.fpm.set_global("process_control_timeout", "10s")
    deployed, load = under_load(
        site.url, "deploy", str(good), "--config", str(config), "--verify-seconds", "5",
        cwd=base,
    )  # fmt: skip
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert load.failed == [] and load.served > 50
    assert httpx.get(site.url + "premortem-release.txt", timeout=10).text == "good\n"

    seed = base / "build-seed"
    shutil.copytree(site.docroot, seed, symlinks=True)
    settings = seed / "wp-settings.php"
    settings.write_text(settings.read_text().replace(GOOD, TYPO))
    stopped = premortem("deploy", str(seed), "--config", str(config), "--format", "json", cwd=base)
    assert stopped.returncode == 1
    assert json.loads(stopped.stdout)["stopped_at"] == "gate"

    undone, load = under_load(
        site.url, "adopt", "--undo", "--config", str(config), "--yes", cwd=base
    )
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert load.failed == []
    assert site.site_file.read_bytes() == nginx_adopt_site.site_bytes
    assert config.read_bytes() == nginx_adopt_site.config_bytes
    assert httpx.get(site.url + "wp-login.php", timeout=10).status_code == 200
