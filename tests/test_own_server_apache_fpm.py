"""Debian's apache2 switched to php-fpm the Debian way (a2dismod php8.2 mpm_prefork;
a2enmod mpm_event proxy_fcgi setenvif; a2enconf php8.2-fpm) on a private instance of its
config tree, with a private copy of Debian's php8.2-fpm pool behind it: the seed's include
typo is diagnosed top-1 with file:line from the URL alone (#12), and init finds the pool."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from debian_php_fpm import DebianPhpFpm
from debian_site import DebianApacheSite
from own_server import copy_lab_wordpress, premortem, seeded, site_base
from premortem.ops.lab import Lab
from premortem.siteconfig import read_site_config

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def fpm_site(lab: Lab) -> Iterator[tuple[DebianApacheSite, DebianPhpFpm]]:
    with site_base("premortem-own-apache-fpm-") as base:
        docroot = base / "www" / "blog"
        copy_lab_wordpress(lab, docroot)
        site = DebianApacheSite(base, docroot)
        site.build()
        fpm = DebianPhpFpm(base / "etc" / "php" / "8.2" / "fpm", site.run_dir, site.log_dir)
        fpm.build()
        site.switch_to_php_fpm(fpm.socket)
        try:
            fpm.start()
            site.start()
            yield site, fpm
        finally:
            site.stop()
            fpm.stop()


def test_the_seed_is_diagnosed_top_1_behind_php_fpm(
    fpm_site: tuple[DebianApacheSite, DebianPhpFpm], tmp_path: Path
) -> None:
    site, fpm = fpm_site
    assert premortem("init", site.url, cwd=tmp_path).returncode == 0
    config = read_site_config(tmp_path / "premortem.toml")
    assert (config.server, config.docroot) == ("apache", str(site.docroot))
    assert config.php_fpm_config == str(fpm.config)
    with seeded(site.docroot) as line:
        proc = premortem("diagnose", site.url, "--format", "json", cwd=tmp_path / "..")
        assert proc.returncode == 1, proc.stderr
        top = json.loads(proc.stdout)["findings"][0]
        assert (top["rule"], top["file"], top["line"]) == ("missing-file", "wp-settings.php", line)
