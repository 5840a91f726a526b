"""The one nginx reader: diagnose (by port and name) and deploy (by root) pick server blocks
from the same parse and see the same FastCGI address."""

from __future__ import annotations

from pathlib import Path

from premortem.readers.nginx import read_nginx_config, site_summary

CONF = """
pid /srv/run/nginx.pid;
events {}
http {
    upstream php { server unix:/run/php/site.sock; }
    server {
        listen 8080;
        server_name other.example;
        root /srv/other;
    }
    server {
        listen 127.0.0.1:8080;
        server_name blog.example;
        root /srv/blog/current;
        location ~ \\.php$ {
            fastcgi_param SCRIPT_FILENAME $realpath_root$fastcgi_script_name;
            fastcgi_pass php;
        }
    }
}
"""


def test_both_ways_of_choosing_find_the_same_block(tmp_path: Path) -> None:
    conf = tmp_path / "nginx.conf"
    conf.write_text(CONF)
    config = read_nginx_config(str(conf))
    assert config.problems == []
    by_name = config.server_for(8080, "blog.example")
    by_root = config.server_with_root("/srv/blog/current/", 8080)
    assert by_name is not None and by_root is not None
    assert by_name.server is by_root.server
    assert by_root.fastcgi_address == "unix:/run/php/site.sock"
    assert by_root.resolves_current_link and by_root.pid_file == "/srv/run/nginx.pid"
    site = site_summary(config, by_name)
    assert site.docroot == "/srv/blog/current" and site.fastcgi_pass == "php"
    assert site.fastcgi_servers == ["unix:/run/php/site.sock"]
    assert site_summary(config, config.server_for(8080, "x")).docroot == "/srv/other"
    assert config.server_for(9999, "blog.example") is None


def test_a_parse_error_names_file_and_line(tmp_path: Path) -> None:
    conf = tmp_path / "nginx.conf"
    conf.write_text("events {}\nhttp {\n    server {\n")
    problems = read_nginx_config(str(conf)).problems
    assert problems and problems[0].startswith(f"{conf}:")


def test_each_fact_names_the_file_and_line_it_is_written_in(tmp_path: Path) -> None:
    # crossplane's own `combine` labels what follows an include with the included file.
    (tmp_path / "mime.types").write_text("types { text/html html; }\n")
    (tmp_path / "sites").mkdir()
    (tmp_path / "sites" / "blog").write_text(
        "server {\n    listen 8080;\n    server_name blog.example;\n    root /srv/blog;\n}\n"
    )
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        "user nginx;\nevents {}\nhttp {\n    include mime.types;\n"
        "    access_log /var/log/nginx/access.log;\n    include sites/*;\n"
        "    include nginx.conf;\n}\n"
    )
    config = read_nginx_config(str(conf))
    site = site_summary(config, config.server_for(8080, "blog.example"))
    assert site.user == "nginx" and site.docroot == "/srv/blog"
    assert site.sources == {
        "server_name": f"{tmp_path}/sites/blog:3",
        "docroot": f"{tmp_path}/sites/blog:4",
        "access_log": f"{conf}:5",
        "web_user": f"{conf}:1",
    }
