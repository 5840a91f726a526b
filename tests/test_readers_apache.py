"""The one Apache config reader: bounded, conditions as the caller asks, one vhost identity."""

from __future__ import annotations

from pathlib import Path

import pytest

from premortem.readers import apache
from premortem.readers.apache import inline_includes, read_apache_config, site_summary


def test_an_include_cycle_is_a_problem_not_a_hang(tmp_path: Path) -> None:
    (tmp_path / "a.conf").write_text("Include b.conf\nListen 80\n")
    (tmp_path / "b.conf").write_text("Include a.conf\n")
    config = read_apache_config(str(tmp_path / "a.conf"))
    assert [d.args for d in config.named("Listen")] == [("80",)]
    assert any("Include cycle" in message for *_, message in config.problems)
    _root, lines, problems = inline_includes(str(tmp_path / "a.conf"), str(tmp_path))
    assert lines == ["Listen 80"] and problems


def test_a_huge_file_is_a_clear_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "httpd.conf"
    conf.write_text("Listen 80\n" + "# padding\n" * 200)
    monkeypatch.setattr(apache, "MAX_FILE_BYTES", 100)
    config = read_apache_config(str(conf))
    assert config.directives == []
    assert "larger than" in config.problems[0][3]


def test_conditions_are_evaluated_or_read_through_as_asked(tmp_path: Path) -> None:
    conf = tmp_path / "httpd.conf"
    conf.write_text(
        "<IfModule\tmod_rewrite.c>\n\tRewriteEngine On\n</IfModule>\n"
        "<IfDefine !STAGE>\nListen \\\n  8080\n</IfDefine>\n"
    )
    httpd_like = read_apache_config(str(conf))
    assert httpd_like.named("RewriteEngine") == []
    assert [(d.args, d.line) for d in httpd_like.named("Listen")] == [(("8080",), 5)]
    every_branch = read_apache_config(str(conf), evaluate_conditions=False)
    assert [d.args for d in every_branch.named("RewriteEngine")] == [("On",)]


def test_two_vhosts_on_one_address_are_told_apart_by_name(tmp_path: Path) -> None:
    conf = tmp_path / "httpd.conf"
    conf.write_text(
        "<VirtualHost *:80>\nServerName a.example\nDocumentRoot /srv/a\n</VirtualHost>\n"
        "<VirtualHost *:80>\nServerName b.example\nDocumentRoot /srv/b\n</VirtualHost>\n"
    )
    config = read_apache_config(str(conf))
    assert site_summary(config, 80, "b.example").docroot == "/srv/b"
    assert site_summary(config, 80, "other").docroot == "/srv/a"
    assert site_summary(config, 80, "b.example").vhost == f"*:80 ({conf}:5)"


def test_each_fact_names_the_file_and_line_it_is_written_in(tmp_path: Path) -> None:
    (tmp_path / "sites").mkdir()
    (tmp_path / "sites" / "blog.conf").write_text(
        "<VirtualHost *:8080>\n  ServerName blog.example\n  DocumentRoot /srv/blog\n"
        "  CustomLog ${APACHE_LOG_DIR}/blog.log combined\n</VirtualHost>\n"
    )
    conf = tmp_path / "apache2.conf"
    conf.write_text(
        "User ${APACHE_RUN_USER}\nErrorLog /var/log/apache2/error.log\n"
        "IncludeOptional sites/*.conf\n"
    )
    variables = {"APACHE_RUN_USER": "web", "APACHE_LOG_DIR": "/var/log/apache2"}
    config = read_apache_config(str(conf), str(tmp_path), defines=variables)
    site = site_summary(config, 8080, "blog.example")
    assert (site.user, site.docroot, site.access_log) == (
        "web",
        "/srv/blog",
        "/var/log/apache2/blog.log",
    )
    assert site.sources == {
        "docroot": f"{tmp_path}/sites/blog.conf:3",
        "server_name": f"{tmp_path}/sites/blog.conf:2",
        "error_log": f"{conf}:2",
        "access_log": f"{tmp_path}/sites/blog.conf:4",
        "web_user": f"{conf}:1",
    }
