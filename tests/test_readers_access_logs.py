"""The readers say which access log a site writes and in which format (Debian's trees)."""

from __future__ import annotations

from pathlib import Path

from premortem.accesslog import DEBIAN_APACHE_FORMATS, AccessLogFormat
from premortem.readers import nginx
from premortem.readers.apache import log_formats, read_apache_config, site_summary

TREES = Path(__file__).parent / "fixtures" / "accesslog"
APACHE_MAIN = str(TREES / "apache" / "apache2.conf")


def test_apache_nicknames_are_debians_logformat_lines() -> None:
    config = read_apache_config(APACHE_MAIN)
    formats = log_formats(config)
    assert formats == DEBIAN_APACHE_FORMATS  # copied verbatim from Debian's apache2.conf
    timed_vhost = site_summary(config, 8090, "timed.example").vhost
    assert "timed" in log_formats(config, timed_vhost) and "timed" not in formats


def test_a_vhost_without_customlog_writes_debians_other_vhosts_log() -> None:
    site = site_summary(read_apache_config(APACHE_MAIN), 8080, "127.0.0.1")
    assert site.access_log == "/var/log/apache2/other_vhosts_access.log"
    # Debian's nickname, as docs/watch.md shows it in premortem.toml.
    assert site.access_log_format == "vhost_combined"
    assert (site.server_name, site.server_aliases) == (
        "blog.example",
        ["www.blog.example", "*.blog.example"],
    )
    assert AccessLogFormat.from_spec(site.access_log_format).logs_vhost


def test_a_vhosts_own_customlog_by_nickname_or_inline_string(tmp_path: Path) -> None:
    config = read_apache_config(APACHE_MAIN)
    wiki = site_summary(config, 80, "wiki.example")
    assert wiki.access_log == "/var/log/apache2/wiki.log"
    assert wiki.access_log_format == "combined"
    timed = site_summary(config, 8090, "timed.example")
    assert timed.access_log_format.startswith('apache:%a %{%Y-%m-%d %H:%M:%S %z}t "%m %U%q')
    conf = tmp_path / "httpd.conf"
    conf.write_text(
        'CustomLog logs/access.log "%h %t \\"%r\\" %>s %b"\n'
        "<VirtualHost *:80>\nCustomLog /var/log/x.log common\n</VirtualHost>\n"
    )
    inline = site_summary(read_apache_config(str(conf)), 8080, "x")
    assert inline.access_log == str(tmp_path / "logs" / "access.log")
    assert inline.access_log_format == 'apache:%h %t "%r" %>s %b'
    # A nickname the config does not define: Debian's own (httpd would log it literally).
    assert site_summary(read_apache_config(str(conf)), 80, "x").access_log_format == "common"
    # A Debian nickname the config defines otherwise: its own definition.
    conf.write_text(
        'LogFormat "%h %t \\"%r\\" %>s %b %D" combined\n'
        "<VirtualHost *:80>\nCustomLog /var/log/x.log combined\n</VirtualHost>\n"
    )
    redefined = site_summary(read_apache_config(str(conf)), 80, "x")
    assert redefined.access_log_format == 'apache:%h %t "%r" %>s %b %D'


def test_nginx_access_log_and_its_format_per_server_block() -> None:
    config = nginx.read_nginx_config(str(TREES / "nginx" / "nginx.conf"))

    def summary(port: int) -> nginx.NginxSite:
        return nginx.site_summary(config, config.server_for(port, "x"))

    blog = summary(8081)
    assert blog.access_log == "/var/log/nginx/blog.json.log"
    assert blog.access_log_format.startswith('nginx:escape=json {"time":"$time_iso8601",')
    assert AccessLogFormat.from_spec(blog.access_log_format).escape == "json"
    plain = summary(8082)  # http-level access_log, nginx's default combined
    assert (plain.access_log, plain.access_log_format) == ("/var/log/nginx/access.log", "")
    assert (summary(8083).access_log, summary(8083).access_log_format) == ("", "")
    shared = summary(8084)
    assert shared.access_log == "/var/log/nginx/vhosts.log"
    assert shared.access_log_format == (
        "nginx:$host:$server_port $remote_addr - $remote_user [$time_local] "
        '"$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'
    )
    assert nginx.log_formats(config.http["block"] if config.http else [])["json"][0] == "json"
