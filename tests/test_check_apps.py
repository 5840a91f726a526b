"""`premortem check` on real applications: Debian's WordPress (also laid out as a release
with a shared wp-config.php), Adminer, DokuWiki, phpLDAPadmin, SimpleSAMLphp, Zabbix's
frontend, LDAP Account Manager and NagVis must give no false error."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from check_helpers import WORDPRESS, make_seed_release
from premortem.check.context import CheckOptions
from premortem.check.runner import run_check
from premortem.ops.packages import ensure_packages
from premortem.php import resolve_includes

SHARED_WP_CONFIG = """<?php
define( 'DB_NAME', 'wordpress' );
define( 'DB_USER', 'wordpress' );
define( 'DB_PASSWORD', 'not-a-real-password' );
define( 'DB_HOST', '127.0.0.1' );
$table_prefix = 'wp_';
if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}
require_once ABSPATH . 'wp-settings.php';
"""


def _errors(root: Path) -> list[str]:
    result = run_check(root, CheckOptions(use_cache=False))
    return [f"{f.file}:{f.line}: {f.message}" for f in result.findings if f.severity == "error"]


def test_debian_wordpress_has_no_error() -> None:
    result = run_check(WORDPRESS, CheckOptions(use_cache=False))
    assert [f for f in result.findings if f.severity == "error"] == []
    assert result.stats["applications"][0] == "wordpress"
    assert result.stats["includes_resolved"] >= 1100


@pytest.mark.parametrize("app", ["adminer", "dokuwiki"])
def test_other_debian_php_apps_have_no_error(app: str) -> None:
    ensure_packages([app])
    assert _errors(Path("/usr/share") / app) == []


# Errors reviewed by hand: files PHP really fails to open, in code the packages ship
# (listed in docs/check.md, "Upstream bugs found").
REVIEWED_ERRORS: dict[str, set[str]] = {
    "nagvis": {
        "share/frontend/nagvis-js/ext/dwoo-1.1.0/Dwoo/Adapters/CodeIgniter/libraries/"
        "Dwootemplate.php:3"
    },
}


@pytest.mark.parametrize(
    ("package", "directory"),
    [
        ("phpldapadmin", "phpldapadmin"),
        ("simplesamlphp", "simplesamlphp"),
        ("zabbix-frontend-php", "zabbix"),
        ("ldap-account-manager", "ldap-account-manager"),
        ("nagvis", "nagvis"),
    ],
)
def test_wider_debian_php_apps_have_no_false_error(package: str, directory: str) -> None:
    # Applications check was not tuned on (#18): relative includes from module pages and
    # CLI scripts, include_path set at run time (relative entries, Zabbix's root), test
    # bootstraps and vendored build scripts.
    ensure_packages([package])
    errors = {line.split(": ", 1)[0] for line in _errors(Path("/usr/share") / directory)}
    assert errors == REVIEWED_ERRORS.get(directory, set())


@pytest.fixture(scope="module")
def release_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """<site>/releases/<ts>/ with wp-config.php a symlink into <site>/shared/."""
    site = tmp_path_factory.mktemp("site")
    release = site / "releases" / "20260101T000000Z"
    shutil.copytree(WORDPRESS, release, ignore=shutil.ignore_patterns("wp-config.php"))
    (site / "shared").mkdir()
    (site / "shared" / "wp-config.php").write_text(SHARED_WP_CONFIG)
    os.symlink("../../shared/wp-config.php", release / "wp-config.php")
    os.symlink("releases/20260101T000000Z", site / "current")
    return site


def test_release_with_shared_config_has_no_error(release_site: Path) -> None:
    assert _errors(release_site / "releases" / "20260101T000000Z") == []
    # Through the `current` link, as Apache's DocumentRoot sees it.
    assert _errors(release_site / "current") == []


def test_release_with_shared_config_finds_the_seed(release_site: Path, tmp_path: Path) -> None:
    release = release_site / "releases" / "20260102T000000Z"
    make_seed_release(release)
    (release / "wp-config.php").unlink()
    os.symlink("../../shared/wp-config.php", release / "wp-config.php")
    result = run_check(release, CheckOptions(use_cache=False))
    errors = [f for f in result.findings if f.severity == "error"]
    assert [(f.file, f.line, f.suggestion) for f in errors] == [
        ("wp-settings.php", 156, "wp-includes/class-wp-locale.php")
    ]
    # The shared config's require resolves through ABSPATH from wp-load.php (the release),
    # not through __DIR__ of the symlink's target (shared/).
    shared_require = [
        s
        for s in resolve_includes(release, use_cache=False)
        if s.rel == "wp-config.php" and "wp-settings" in s.expression
    ]
    assert shared_require and shared_require[0].exists
