"""The stage's nginx config, derived from the site's; the switch facts read from the same config."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import crossplane
import pytest

from premortem.errors import PremortemError
from premortem.ops.deploy.nginx import (
    NGINX_BIN,
    nginx_command,
    read_nginx_site,
    run_nginx,
    stage_nginx_config,
)
from premortem.ops.deploy.phpfpm import _seconds
from premortem.siteconfig import SiteConfig

FIXTURES = Path(__file__).parent / "fixtures" / "deploy"


def _config(tmp_path: Path) -> SiteConfig:
    conf_dir = tmp_path / "nginx"
    shutil.copytree(FIXTURES / "nginx-debian", conf_dir)
    return SiteConfig(
        url="http://www.example.com/",
        site_root="/srv/site",
        docroot="/srv/site/current",
        server="nginx",
        server_config=str(conf_dir / "nginx.conf"),
    )


def _stage(tmp_path: Path) -> tuple[str, Path, Path]:
    config = _config(tmp_path)
    stage = tmp_path / "state" / "stage"
    stage.mkdir(parents=True)
    release = Path("/srv/site/releases/20261126T010000Z")
    site = read_nginx_site(config)
    return stage_nginx_config(site, config.docroot, release, stage, 48123), stage, release


def _directives(text: str, tmp_path: Path) -> list[dict[str, Any]]:
    conf = tmp_path / "check.conf"
    conf.write_text(text)
    payload = crossplane.parse(str(conf), check_ctx=False, check_args=False)
    assert payload["errors"] == []
    flat: list[dict[str, Any]] = []

    def walk(block: list[dict[str, Any]]) -> None:
        for d in block:
            flat.append(d)
            walk(d.get("block", []))

    walk(payload["config"][0]["parsed"])
    return flat


def test_the_site_server_block_is_found_through_includes(tmp_path: Path) -> None:
    site = read_nginx_site(_config(tmp_path))
    assert ["server_name", "www.example.com"] in [
        [d["directive"], *d["args"]] for d in site.server["block"]
    ]
    # fastcgi_pass names an upstream: its server is the pool's address.
    assert site.fastcgi_address == "unix:/run/php/php8.2-fpm.sock"
    # Debian's fastcgi.conf, through snippets/fastcgi-php.conf: the unresolved path.
    assert site.script_filename == "$document_root$fastcgi_script_name"
    assert not site.resolves_current_link
    assert site.open_file_cache
    assert site.pid_file == "/run/nginx.pid"


def test_realpath_root_and_open_file_cache_off_are_seen(tmp_path: Path) -> None:
    config = _config(tmp_path)
    conf_dir = Path(config.server_config).parent
    fastcgi = conf_dir / "fastcgi.conf"
    fastcgi.write_text(fastcgi.read_text().replace("$document_root$", "$realpath_root$"))
    main = conf_dir / "nginx.conf"
    main.write_text(
        main.read_text().replace("open_file_cache max=1000 inactive=20s", "open_file_cache off")
    )
    site = read_nginx_site(config)
    assert site.resolves_current_link
    assert not site.open_file_cache


def test_fastcgi_params_inherit_only_into_a_level_that_sets_none(tmp_path: Path) -> None:
    config = _config(tmp_path)
    site_file = Path(config.server_config).parent / "sites-enabled" / "www.example.com"
    site_file.write_text(
        "server {\n  listen 80;\n  root /srv/site/current;\n  include fastcgi.conf;\n"
        "  location ~ \\.php$ {\n    fastcgi_pass php;\n  }\n}\n"
    )
    # The server level's params reach the location, which sets none.
    assert read_nginx_site(config).script_filename == "$document_root$fastcgi_script_name"
    site_file.write_text(
        site_file.read_text().replace(
            "fastcgi_pass php;", "fastcgi_pass php;\n    fastcgi_param HTTPS on;"
        )
    )
    # One param of its own and the location inherits none: no SCRIPT_FILENAME at all.
    assert read_nginx_site(config).script_filename == ""


def test_stage_config_keeps_the_site_only_on_a_loopback_port(tmp_path: Path) -> None:
    text, stage, release = _stage(tmp_path)
    directives = _directives(text, tmp_path)
    pairs: list[tuple[str, list[str]]] = [(d["directive"], d["args"]) for d in directives]
    assert [args for name, args in pairs if name == "listen"] == [["127.0.0.1:48123"]]
    assert ("server_name", ["www.example.com"]) in pairs
    assert [args for name, args in pairs if name == "root"] == [[str(release)]]
    assert ("alias", [f"{release}/wp-content/uploads/"]) in pairs
    assert ("pid", [str(stage / "nginx.pid")]) in pairs
    logs = [args[0] for name, args in pairs if name in ("access_log", "error_log")]
    assert logs and all(log.startswith(str(stage)) for log in logs)
    assert not any(name in ("stream", "mail") for name, _ in pairs)
    cache = [args for name, args in pairs if name == "fastcgi_cache_path"]
    assert cache and cache[0][0].startswith(str(stage))
    # What PHP gets is production's: the pool, its params, try_files.
    assert ("fastcgi_pass", ["php"]) in pairs
    assert ("server", ["unix:/run/php/php8.2-fpm.sock"]) in pairs
    assert (
        "fastcgi_param",
        ["SCRIPT_FILENAME", "$document_root$fastcgi_script_name"],
    ) in pairs
    assert "/srv/site/current" not in text


def test_stage_config_loads_in_nginx(tmp_path: Path) -> None:
    text, stage, _release = _stage(tmp_path)
    conf = stage / "stage.conf"
    conf.write_text(text)
    proc = run_nginx(nginx_command(conf, stage, stage / "error.log"), "-t")
    assert proc.returncode == 0, proc.stderr
    assert NGINX_BIN in nginx_command(conf, stage, stage / "error.log")


def test_a_config_without_the_docroot_is_a_clear_error(tmp_path: Path) -> None:
    config = _config(tmp_path)
    config.docroot = "/srv/other/current"
    with pytest.raises(PremortemError, match="no server block"):
        read_nginx_site(config)


def test_a_config_that_does_not_parse_is_a_clear_error(tmp_path: Path) -> None:
    config = _config(tmp_path)
    Path(config.server_config).write_text("http { server { root /x; }\n")
    with pytest.raises(PremortemError, match="cannot parse nginx config"):
        read_nginx_site(config)


@pytest.mark.parametrize(
    ("value", "seconds"), [("0", 0.0), ("10", 10.0), ("10s", 10.0), ("1m", 60.0), ("x", 0.0)]
)
def test_process_control_timeout_values(value: str, seconds: float) -> None:
    assert _seconds(value) == seconds
