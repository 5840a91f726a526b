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


def _write(tmp_path: Path, extra_lines: str, docroot: str = "/srv/x/site/current") -> Path:
    path = tmp_path / "premortem.toml"
    path.write_text(
        f'url = "http://127.0.0.1:8080/"\nsite_root = "/srv/x/site"\ndocroot = "{docroot}"\n'
        + extra_lines
    )
    return path


def test_a_misspelt_key_is_an_error_that_names_it(tmp_path: Path) -> None:
    path = _write(tmp_path, 'acces_log = "/var/log/apache2/access.log"\n')
    with pytest.raises(
        PremortemError, match=r"unknown key 'acces_log' \(did you mean 'access_log'"
    ):
        read_site_config(path)


def test_an_unknown_table_is_an_error_but_the_lab_table_is_kept(tmp_path: Path) -> None:
    with pytest.raises(PremortemError, match="unknown key 'deploy'"):
        read_site_config(_write(tmp_path, "[deploy]\nkeep = 3\n"))
    assert read_site_config(_write(tmp_path, "[lab]\nport = 1\n")).extra == {"lab": {"port": 1}}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('db_port = "3306"\n', "'db_port' must be an integer"),
        ("db_port = true\n", "'db_port' must be an integer"),
        ('smoke_paths = "/"\n', "'smoke_paths' must be a list of strings"),
        ("access_log = 3\n", "'access_log' must be a string"),
    ],
)
def test_a_value_of_the_wrong_type_is_an_error(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(PremortemError, match=message):
        read_site_config(_write(tmp_path, line))


def test_a_state_dir_inside_the_docroot_is_refused(tmp_path: Path) -> None:
    docroot = tmp_path / "html"
    (docroot / ".premortem").mkdir(parents=True)
    path = _write(tmp_path, f'state_dir = "{docroot}/.premortem"\n', docroot=str(docroot))
    with pytest.raises(PremortemError, match=r"inside the docroot .* would serve"):
        read_site_config(path)


def test_a_state_dir_reached_through_a_link_into_the_docroot_is_refused(tmp_path: Path) -> None:
    docroot = tmp_path / "html"
    (docroot / "state").mkdir(parents=True)
    (tmp_path / "state-link").symlink_to(docroot / "state")
    path = _write(tmp_path, f'state_dir = "{tmp_path}/state-link"\n', docroot=str(docroot))
    with pytest.raises(PremortemError, match="inside the docroot"):
        read_site_config(path)


def test_the_default_state_dir_is_per_site_and_outside_the_docroot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREMORTEM_STATE_ROOT", str(tmp_path / "state"))
    # In-place docroot: the old default (site_root/.premortem) would be served.
    config = SiteConfig(
        url="http://Blog.Example:8080/", site_root="/var/www/html", docroot="/var/www/html"
    )
    assert config.path_of_state == tmp_path / "state" / "blog.example-8080"
    https = SiteConfig(url="https://blog.example/", site_root="/srv/s", docroot="/srv/s/current")
    assert https.path_of_state == tmp_path / "state" / "blog.example"


def test_state_an_older_premortem_kept_beside_the_releases_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREMORTEM_STATE_ROOT", str(tmp_path / "state"))
    (tmp_path / "site" / ".premortem").mkdir(parents=True)
    config = SiteConfig(
        url="http://127.0.0.1/",
        site_root=str(tmp_path / "site"),
        docroot=str(tmp_path / "site" / "current"),
    )
    assert config.path_of_state == tmp_path / "site" / ".premortem"


def test_the_state_root_without_root_is_the_users_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from premortem import siteconfig

    monkeypatch.delenv("PREMORTEM_STATE_ROOT", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setattr(siteconfig.os, "geteuid", lambda: 1000)
    assert siteconfig.state_root() == tmp_path / "premortem"
    monkeypatch.setattr(siteconfig.os, "geteuid", lambda: 0)
    assert siteconfig.state_root() == Path("/var/lib/premortem")
