from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

import premortem
from premortem.errors import PremortemError
from premortem.siteconfig import SiteConfig, read_site_config, write_site_config


def test_round_trip_keeps_extra_tables(tmp_path: Path) -> None:
    config = SiteConfig(
        url="http://127.0.0.1:8080/",
        site_root="/srv/x/site",
        docroot="/srv/x/site/current",
        extra={"lab": {"port": 8080}},
    )
    path = tmp_path / "premortem.toml"
    write_site_config(config, path)
    again = read_site_config(path)
    assert again == config
    assert again.extra["lab"]["port"] == 8080


def test_missing_keys_are_named(tmp_path: Path) -> None:
    path = tmp_path / "premortem.toml"
    path.write_text('url = "http://127.0.0.1/"\n')
    with pytest.raises(PremortemError, match="site_root, docroot"):
        read_site_config(path)


def test_malformed_toml_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "premortem.toml"
    path.write_bytes(b"url = \xff\n")
    with pytest.raises(PremortemError, match="not valid TOML"):
        read_site_config(path)


def test_an_older_lab_table_fills_the_typed_settings(tmp_path: Path) -> None:
    # Written before php-fpm, nginx and database paths were top-level keys.
    path = tmp_path / "premortem.toml"
    path.write_text(
        'url = "http://127.0.0.1:8080/"\n'
        'site_root = "/srv/lab/site"\n'
        'docroot = "/srv/lab/site/current"\n'
        'php_fpm_log = "/srv/top/php-fpm.log"\n'
        "[lab]\n"
        'dir = "/srv/lab"\n'
        "port = 8080\n"
        "db_port = 33999\n"
        'db_socket = "/srv/lab/run/mysqld.sock"\n'
        'php_fpm_config = "/srv/lab/php-fpm/php-fpm.conf"\n'
        'php_fpm_log = "/srv/lab/logs/php-fpm.log"\n'
        'nginx_pid_file = "/srv/lab/run/nginx.pid"\n'
    )
    config = read_site_config(path)
    assert config.php_fpm_config == "/srv/lab/php-fpm/php-fpm.conf"
    assert config.nginx_pid_file == "/srv/lab/run/nginx.pid"
    assert config.db_socket == "/srv/lab/run/mysqld.sock" and config.db_port == 33999
    assert config.start_command == "premortem lab up --dir /srv/lab --port 8080"
    # A top-level key wins over the old table's.
    assert config.php_fpm_log == "/srv/top/php-fpm.log"
    assert config.php_error_log == ""


def test_typed_settings_round_trip_as_top_level_keys(tmp_path: Path) -> None:
    config = SiteConfig(
        url="http://127.0.0.1:8080/",
        site_root="/srv/x/site",
        docroot="/srv/x/site/current",
        php_error_log="/srv/x/logs/php.log",
        db_port=3307,
    )
    path = tmp_path / "premortem.toml"
    write_site_config(config, path)
    raw = tomllib.loads(path.read_text())
    assert raw["php_error_log"] == "/srv/x/logs/php.log" and raw["db_port"] == 3307
    assert read_site_config(path) == config


def test_no_product_code_reads_the_lab_table() -> None:
    # The [lab] table belongs to the lab; everything else reads the typed settings (which
    # siteconfig.py fills from an older file's table).
    package = Path(premortem.__file__).parent
    lab_package = package / "ops" / "lab"
    readers = [
        str(module.relative_to(package))
        for module in package.rglob("*.py")
        if lab_package not in module.parents
        and module != package / "siteconfig.py"
        and re.search(r"""extra\s*(\.get\(|\[)\s*['"]lab['"]""", module.read_text())
    ]
    assert readers == []
