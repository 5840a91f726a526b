"""Which php-fpm address an Apache config hands PHP to (readers/apache_handler.py), over
small config trees."""

from __future__ import annotations

from pathlib import Path

import pytest

from premortem.readers.apache import read_apache_config, site_summary
from premortem.readers.apache_handler import applies_to_php, fcgi_address, fcgi_handlers

DEBIAN_CONF = """\
<IfModule !mod_php8.c>
<IfModule proxy_fcgi_module>
    <IfModule setenvif_module>
    SetEnvIfNoCase ^Authorization$ "(.+)" HTTP_AUTHORIZATION=$1
    </IfModule>
    <FilesMatch ".+\\.ph(?:ar|p|tml)$">
        SetHandler "proxy:unix:/run/php/php8.2-fpm.sock|fcgi://localhost"
    </FilesMatch>
    <FilesMatch ".+\\.phps$">
        Require all denied
    </FilesMatch>
</IfModule>
</IfModule>
"""


def _tree(tmp_path: Path, main: str, **files: str) -> Path:
    for name, text in files.items():
        path = tmp_path / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    conf = tmp_path / "apache2.conf"
    conf.write_text(main)
    return conf


def _handlers(conf: Path, port: int = 80, host: str = "blog.example") -> list[tuple[str, str]]:
    config = read_apache_config(str(conf), evaluate_conditions=False)
    site = site_summary(config, port, host)
    return [(h.address, h.at) for h in fcgi_handlers(config, site.vhost)]


@pytest.mark.parametrize(
    ("target", "address"),
    [
        ("proxy:unix:/run/php/php8.2-fpm.sock|fcgi://localhost", "unix:/run/php/php8.2-fpm.sock"),
        ("proxy:unix:/run/php//blog.sock|fcgi://localhost/", "unix:/run/php/blog.sock"),
        ("proxy:fcgi://127.0.0.1:9000", "127.0.0.1:9000"),
        ("proxy:fcgi://localhost/", "localhost:8000"),
        ("fcgi://127.0.0.1:9000/var/www/html/$1", "127.0.0.1:9000"),
        ("fcgi://[::1]:9001/srv/$1", "::1:9001"),
        ("unix:/run/php/blog.sock|fcgi://localhost/srv/blog/$1", "unix:/run/php/blog.sock"),
        ("application/x-httpd-php", None),
        ("proxy:http://127.0.0.1:8080/", None),
        ("proxy:unix:/run/app.sock|http://localhost", None),
    ],
)
def test_fcgi_address(target: str, address: str | None) -> None:
    assert fcgi_address(target) == address


def test_debian_conf_enabled_sethandler_in_filesmatch(tmp_path: Path) -> None:
    conf = _tree(
        tmp_path,
        "IncludeOptional conf-enabled/*.conf\n",
        **{"conf-enabled__php8.2-fpm.conf": DEBIAN_CONF},
    )
    assert _handlers(conf) == [
        ("unix:/run/php/php8.2-fpm.sock", f"{tmp_path}/conf-enabled/php8.2-fpm.conf:7")
    ]


def test_the_vhost_handler_wins_over_the_main_servers(tmp_path: Path) -> None:
    vhost = """\
<VirtualHost *:80>
    ServerName blog.example
    <FilesMatch \\.php$>
        SetHandler "proxy:unix:/run/php/blog.sock|fcgi://localhost"
    </FilesMatch>
</VirtualHost>
<VirtualHost *:80>
    ServerName other.example
    ProxyPassMatch ^/(.*\\.php)$ fcgi://127.0.0.1:9000/srv/other/$1
</VirtualHost>
"""
    conf = _tree(
        tmp_path,
        "Include conf-enabled/*.conf\nInclude sites-enabled/*.conf\n",
        **{"conf-enabled__php8.2-fpm.conf": DEBIAN_CONF, "sites-enabled__blog.conf": vhost},
    )
    blog = _handlers(conf)
    assert [address for address, _ in blog] == [
        "unix:/run/php/blog.sock",
        "unix:/run/php/php8.2-fpm.sock",
    ]
    assert blog[0][1] == f"{tmp_path}/sites-enabled/blog.conf:4"
    other = _handlers(conf, host="other.example")
    assert [address for address, _ in other] == ["127.0.0.1:9000", "unix:/run/php/php8.2-fpm.sock"]


def test_a_handler_for_other_files_comes_after_the_one_for_php(tmp_path: Path) -> None:
    conf = _tree(
        tmp_path,
        """\
<FilesMatch "\\.php$">
    SetHandler "proxy:fcgi://127.0.0.1:9000"
</FilesMatch>
<FilesMatch "\\.phtml$">
    SetHandler "proxy:unix:/run/php/legacy.sock|fcgi://localhost"
</FilesMatch>
AddHandler "proxy:unix:/run/php/addhandler.sock|fcgi://localhost" .php5
""",
    )
    config = read_apache_config(str(conf))
    handlers = fcgi_handlers(config, "")
    assert handlers[0].address == "127.0.0.1:9000"
    assert [applies_to_php(h) for h in handlers] == [True, False, False]
    assert handlers[0].text == "SetHandler proxy:fcgi://127.0.0.1:9000"


def test_mod_php_has_no_fcgi_handler(tmp_path: Path) -> None:
    conf = _tree(
        tmp_path,
        '<FilesMatch ".+\\.ph(?:ar|p|tml)$">\n    SetHandler application/x-httpd-php\n'
        "</FilesMatch>\n",
    )
    config = read_apache_config(str(conf))
    site = site_summary(config, 80, "blog.example")
    assert fcgi_handlers(config, site.vhost) == []
    assert site.php_handler


def test_the_lab_flavour_config_names_its_pool(tmp_path: Path) -> None:
    from premortem.ops.lab.apache import render_httpd_conf
    from premortem.ops.lab.apache_fpm import PHP_FPM, handler_line, render_handler_conf
    from premortem.ops.lab.layout import LabPaths

    paths = LabPaths(tmp_path)
    paths.apache_dir.mkdir()
    paths.httpd_conf.write_text(render_httpd_conf(paths, 8080, PHP_FPM))
    paths.fpm_handler_conf.write_text(render_handler_conf(paths))
    paths.php_site_conf.write_text("")
    assert _handlers(paths.httpd_conf, 8080, "127.0.0.1") == [
        (f"unix:{paths.fpm_socket}", f"{paths.fpm_handler_conf}:{handler_line(paths)}")
    ]


def test_deploy_finds_the_pool_address_of_the_sites_vhost(tmp_path: Path) -> None:
    from premortem.ops.deploy.apache_fpm import apache_fcgi_address
    from premortem.siteconfig import SiteConfig

    vhost = """\
Listen 8080
<VirtualHost *:8080>
    ServerName blog.example
    DocumentRoot /srv/blog/current
    <FilesMatch "\\.php$">
        SetHandler "proxy:unix:/run/php/blog.sock|fcgi://localhost"
    </FilesMatch>
</VirtualHost>
"""
    conf = _tree(
        tmp_path,
        "LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so\n"
        "Include sites-enabled/*.conf\n",
        **{"sites-enabled__blog.conf": vhost},
    )
    config = SiteConfig(
        url="http://blog.example:8080/",
        site_root="/srv/blog",
        docroot="/srv/blog/current",
        server_config=str(conf),
    )
    assert apache_fcgi_address(config) == "unix:/run/php/blog.sock"
    config.server = "nginx"
    assert apache_fcgi_address(config) == ""
