"""server-config: Apache read the way httpd reads it, .htaccess against loaded modules,
nginx through crossplane."""

from __future__ import annotations

from pathlib import Path

import pytest

from check_helpers import run_rule
from premortem.check.context import CheckOptions
from premortem.readers.apache import read_apache_config
from premortem.rules.server_config import ServerConfig

MODULES = "/usr/lib/apache2/modules"


def _apache_site(tmp_path: Path, *, rewrite_loaded: bool, htaccess: str, override: str) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.php").write_text("<?php\n")
    (site / ".htaccess").write_text(htaccess)
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "10-site.conf").write_text(
        "DocumentRoot ${SITE}\n<Directory ${SITE}>\n"
        f"    AllowOverride {override}\n</Directory>\n"
    )
    load = f"LoadModule rewrite_module {MODULES}/mod_rewrite.so\n" if rewrite_loaded else ""
    (tmp_path / "httpd.conf").write_text(
        f"LoadModule alias_module {MODULES}/mod_alias.so\n{load}"
        f"Define SITE {site}\n"
        "<IfDefine !NO_SITE>\n    IncludeOptional conf.d/*.conf\n</IfDefine>\n"
        "IncludeOptional optional.d/*.conf\n"
    )
    return site


def _run(site: Path, config: Path) -> list[tuple[str | None, int | None, str, str]]:
    options = CheckOptions(use_cache=False, server_configs=[str(config)])
    findings, _ = run_rule(ServerConfig, site, options)
    return [(f.file, f.line, f.severity, f.message) for f in findings]


def test_rewrite_in_htaccess_without_mod_rewrite_fires(tmp_path: Path) -> None:
    site = _apache_site(
        tmp_path,
        rewrite_loaded=False,
        htaccess="RewriteEngine On\nRewriteRule ^x$ y\n",
        override="All",
    )
    found = _run(site, tmp_path / "httpd.conf")
    assert [(f, line, sev) for f, line, sev, _ in found] == [
        (".htaccess", 1, "error"),
        (".htaccess", 2, "error"),
    ]
    assert "RewriteEngine needs mod_rewrite, which is not loaded" in found[0][3]


def test_rewrite_look_alikes_do_not_fire(tmp_path: Path) -> None:
    guarded = "<IfModule mod_rewrite.c>\nRewriteEngine On\n</IfModule>\nRedirect /a /b\n"
    site = _apache_site(tmp_path, rewrite_loaded=False, htaccess=guarded, override="All")
    assert _run(site, tmp_path / "httpd.conf") == []


def test_loaded_module_or_allowoverride_none_do_not_fire(tmp_path: Path) -> None:
    site = _apache_site(
        tmp_path, rewrite_loaded=True, htaccess="RewriteEngine On\n", override="FileInfo"
    )
    assert _run(site, tmp_path / "httpd.conf") == []
    other = tmp_path / "other"
    other.mkdir()
    site2 = _apache_site(
        other, rewrite_loaded=False, htaccess="RewriteEngine On\n", override="None"
    )
    assert _run(site2, other / "httpd.conf") == []  # Apache never reads that .htaccess


def test_misspelt_directive_with_did_you_mean_and_edit(tmp_path: Path) -> None:
    site = _apache_site(
        tmp_path, rewrite_loaded=True, htaccess="# comment\nRewriteEngin On\n", override="All"
    )
    options = CheckOptions(use_cache=False, server_configs=[str(tmp_path / "httpd.conf")])
    findings, _ = run_rule(ServerConfig, site, options)
    assert len(findings) == 1
    finding = findings[0]
    assert (finding.file, finding.line, finding.suggestion) == (".htaccess", 2, "RewriteEngine")
    assert finding.fix is not None and finding.fix.edits[0].new == "RewriteEngine"


def test_missing_module_include_and_docroot_fire(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (tmp_path / "httpd.conf").write_text(
        f"LoadModule foo_module {MODULES}/mod_does_not_exist.so\n"
        "Include sites/*.conf\n"
        f"DocumentRoot {tmp_path}/releases/current\n"
        "<VirtualHost *:80>\n"
    )
    found = _run(site, tmp_path / "httpd.conf")
    messages = "\n".join(m for _, _, _, m in found)
    assert all(sev == "error" for _, _, sev, _ in found)
    assert "Include sites/*.conf: no such file" in messages
    assert "mod_does_not_exist.so does not exist" in messages
    assert "DocumentRoot" in messages and "is not a directory" in messages
    assert "<VirtualHost *:80> not closed" in messages


def test_reads_debian_apache_config_like_httpd() -> None:
    config = read_apache_config("/etc/apache2/apache2.conf")
    assert config.server_root == "/etc/apache2"
    assert config.problems == []
    # envvars give ${APACHE_LOG_DIR}; mods-enabled/*.load give the modules.
    assert next(d.args[0] for d in config.named("ErrorLog")) == "/var/log/apache2/error.log"
    assert config.has_module("mod_alias.c") and config.has_module("authz_core_module")


def test_debian_apache_config_and_dokuwiki_have_no_finding() -> None:
    assert _run(Path("/usr/share/dokuwiki"), Path("/etc/apache2/apache2.conf")) == []


@pytest.mark.parametrize("kind", ["fire", "fp"])
def test_nginx(tmp_path: Path, kind: str) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (tmp_path / "fastcgi.conf").write_text("fastcgi_param SCRIPT_FILENAME $request_filename;\n")
    if kind == "fire":
        root, upstream, include = tmp_path / "gone", "unix:/run/php/php5.6-fpm.sock", "missing.conf"
    else:
        root, upstream, include = site, "127.0.0.1:9000", "fastcgi.conf"
    (tmp_path / "nginx.conf").write_text(
        "events {}\nhttp {\n  server {\n    listen 127.0.0.1:8080;\n"
        f"    root {root};\n    location ~ \\.php$ {{\n"
        f"      include {tmp_path}/{include};\n      fastcgi_pass {upstream};\n    }}\n  }}\n}}\n"
    )
    found = _run(site, tmp_path / "nginx.conf")
    if kind == "fp":
        assert found == []
        return
    messages = [m for _, _, _, m in found]
    assert len(found) == 3, messages
    assert any("missing.conf" in m for m in messages)
    assert any(m.startswith(f"root {root} does not exist") for m in messages)
    assert any("no such socket" in m for m in messages)


def test_tabs_between_names_and_arguments_read_like_spaces(tmp_path: Path) -> None:
    # httpd accepts any whitespace; a tab-indented vhost must not look unbalanced.
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.php").write_text("<?php\n")
    (tmp_path / "httpd.conf").write_text(
        f"LoadModule\talias_module\t{MODULES}/mod_alias.so\n"
        "Listen\t127.0.0.1:8080\n"
        "<VirtualHost\t*:8080>\n"
        f"\tDocumentRoot\t{site}\n"
        f"\t<Directory\t{site}>\n\t\tAllowOverride\tNone\n\t</Directory>\n"
        "</VirtualHost>\n"
    )
    assert _run(site, tmp_path / "httpd.conf") == []
    config = read_apache_config(tmp_path / "httpd.conf")
    assert config.problems == []
