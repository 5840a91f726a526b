"""premortem on a site it did not build, on nginx + php-fpm: Debian's /etc/nginx and
/etc/php/8.2/fpm layouts (a private instance, tests/debian_nginx_site.py) serving a copy of
the lab's WordPress (its database is the lab's MariaDB). Every command runs from an empty
directory with no premortem.toml: what it knows of the site it finds from the URL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from debian_nginx_site import DebianNginxSite
from own_server import copy_lab_wordpress, diagnose_then_fix, premortem, site_base
from premortem.ops.lab import Lab
from premortem.siteconfig import read_site_config

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def own_nginx_site(lab: Lab) -> Iterator[DebianNginxSite]:
    with site_base("premortem-own-nginx-") as base:
        docroot = base / "www" / "blog"
        copy_lab_wordpress(lab, docroot)
        site = DebianNginxSite(base, docroot)
        site.build()
        try:
            site.start()
            yield site
        finally:
            site.stop()


def test_init_writes_the_config_of_the_server_block_that_answers(
    own_nginx_site: DebianNginxSite, tmp_path: Path
) -> None:
    site = own_nginx_site
    proc = premortem("init", site.url, "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    config = read_site_config(tmp_path / "premortem.toml")
    assert config.server == "nginx"
    assert config.server_config == str(site.confdir / "nginx.conf")
    assert config.docroot == config.site_root == str(site.docroot)
    # The server block has no access_log: the http block's, in nginx's own combined.
    assert config.access_log == str(site.access_log)
    assert config.access_log_format in ("", "combined")
    assert config.error_log == str(site.error_log)
    assert config.php_fpm_config == str(site.fpm_config)
    assert config.web_user == "www-data"
    sources = {fact["key"]: fact["source"] for fact in found["facts"]}
    assert sources["docroot"] == f"{site.confdir / 'sites-enabled' / site.name}:5"


def test_diagnose_and_fix_work_from_the_url_alone(
    own_nginx_site: DebianNginxSite, tmp_path: Path
) -> None:
    diagnose_then_fix(own_nginx_site.url, own_nginx_site.docroot, cwd=tmp_path)
