"""premortem on a site it did not build: Debian's apache2 layout, WordPress in a docroot.

The site is a private instance of the apache2 package's own config tree (tests/
debian_site.py) serving a copy of the lab's WordPress (its database is the lab's MariaDB).
Every command runs from an empty directory with no premortem.toml: what it knows of the
site it finds from the URL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from debian_site import DebianApacheSite
from own_server import copy_lab_wordpress, diagnose_then_fix, premortem, site_base
from premortem.ops.lab import Lab
from premortem.siteconfig import read_site_config

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def own_site(lab: Lab) -> Iterator[DebianApacheSite]:
    with site_base("premortem-own-site-") as base:
        docroot = base / "www" / "blog"
        copy_lab_wordpress(lab, docroot)
        site = DebianApacheSite(base, docroot)
        site.build()
        site.start()
        try:
            yield site
        finally:
            site.stop()


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
    diagnose_then_fix(own_site.url, own_site.docroot, cwd=tmp_path)
