"""server-config: Apache read the way httpd reads it, .htaccess against loaded modules,
nginx through crossplane."""

from __future__ import annotations

from pathlib import Path

from check_helpers import PROBLEMS, run_rule
from premortem.check.context import CheckOptions
from premortem.readers.apache import read_apache_config
from premortem.rules.server_config import ServerConfig


def _run(site: Path, config: Path) -> list[tuple[str | None, int | None, str, str]]:
    options = CheckOptions(use_cache=False, server_configs=[str(config)])
    findings, _ = run_rule(ServerConfig, site, options)
    return [(f.file, f.line, f.severity, f.message) for f in findings]


def test_reads_debian_apache_config_like_httpd() -> None:
    config = read_apache_config("/etc/apache2/apache2.conf")
    assert config.server_root == "/etc/apache2"
    assert config.problems == []
    # envvars give ${APACHE_LOG_DIR}; mods-enabled/*.load give the modules.
    assert next(d.args[0] for d in config.named("ErrorLog")) == "/var/log/apache2/error.log"
    assert config.has_module("mod_alias.c") and config.has_module("authz_core_module")


def test_debian_apache_config_and_dokuwiki_have_no_finding() -> None:
    assert _run(Path("/usr/share/dokuwiki"), Path("/etc/apache2/apache2.conf")) == []


def test_tabs_between_names_and_arguments_read_like_spaces(tmp_path: Path) -> None:
    # httpd accepts any whitespace; a tab-indented vhost must not look unbalanced. The rule's
    # view of the same file: tests/fixtures/problems/server-config/fp/tab-separated-vhost/.
    text = (PROBLEMS / "server-config" / "fp" / "tab-separated-vhost" / "httpd.conf").read_text()
    (tmp_path / "httpd.conf").write_text(text.replace("@ROOT@", str(tmp_path)))
    config = read_apache_config(tmp_path / "httpd.conf")
    assert config.problems == []
    assert [d.args for d in config.named("DocumentRoot")] == [(str(tmp_path),)]
