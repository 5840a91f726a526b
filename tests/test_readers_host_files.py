"""The config readers read through a seam: diagnose's collectors read the configs of the
Host they are given (a RecordedHost holds them as data), and the default (check, deploy,
stage, the lab) still reads this machine's files, as before."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from premortem.collectors.server import collect_server, read_apache_site, read_nginx_site
from premortem.host import ListeningSocket, LocalHost, ProcessInfo, RecordedFile, RecordedHost
from premortem.readers.apache import included_files, read_apache_config
from premortem.readers.files import LOCAL_FILES, HostFiles, host_glob
from premortem.readers.nginx import read_nginx_config
from premortem.readers.phpfpm import read_fpm_config

FIXTURES = Path(__file__).parent / "fixtures" / "diagnose"
# Where the recorded machine keeps its configs: nothing on this disk is there.
APACHE_ROOT = "/srv/recorded-host/apache2"
NGINX_ROOT = "/srv/recorded-host/nginx"
FPM_ROOT = "/srv/recorded-host/php/fpm"
FPM_HANDLER = """<FilesMatch ".+\\.php$">
    SetHandler "proxy:unix:/run/php/php8.2-fpm-blog.sock|fcgi://localhost"
</FilesMatch>
"""


def tree(source: Path, root: str, here: str = "") -> dict[str, RecordedFile]:
    """The files below `source` as data under `root` (@HERE@ / @DIR@ replaced by `here`)."""
    found = {}
    for path in sorted(source.rglob("*")):
        if path.is_file():
            text = path.read_text().replace("@HERE@", here).replace("@DIR@", here)
            found[f"{root}/{path.relative_to(source)}"] = RecordedFile(content=text.encode())
    return found


@pytest.fixture
def machine() -> RecordedHost:
    files = {
        **tree(FIXTURES / "apache", APACHE_ROOT, APACHE_ROOT),
        **tree(FIXTURES / "nginx" / "php-fpm", FPM_ROOT, FPM_ROOT),
        f"{APACHE_ROOT}/conf.d/php.conf": RecordedFile(content=FPM_HANDLER.encode()),
    }
    for name in ("nginx.conf", "fastcgi_params", "mime.types", "sites-enabled/blog"):
        content = (FIXTURES / "nginx" / name).read_bytes()
        files[f"{NGINX_ROOT}/{name}"] = RecordedFile(content=content)
    assert not any(os.path.exists(path) for path in files)  # the data alone answers
    return RecordedHost(files=files)


def test_apache_site_and_its_php_fpm_pool_come_from_the_recorded_host(
    machine: RecordedHost,
) -> None:
    apache = ProcessInfo(20, 1, "apache2", ("/usr/sbin/apache2", "-d", APACHE_ROOT), "root")
    machine.procs = [apache]
    machine.sockets = [ListeningSocket(20, "127.0.0.1", 8080)]
    evidence = collect_server(
        8080,
        "blog.example",
        config_file=f"{APACHE_ROOT}/apache2.conf",
        server_hint="apache",
        php_fpm_config=f"{FPM_ROOT}/php-fpm.conf",
        host=machine,
    )
    site = evidence.apache
    assert site is not None
    # envvars, Define, IncludeOptional globs: all resolved over the recorded files.
    assert site.server_name == "blog.example"
    assert site.docroot == "/srv/example/current"
    assert site.error_log == "/var/log/apache2/blog-error.log"
    assert site.access_log == "/var/log/apache2/blog-access.log"
    assert [h.address for h in site.fcgi_handlers] == ["unix:/run/php/php8.2-fpm-blog.sock"]
    fpm = evidence.php_fpm
    assert fpm is not None and fpm.pool is not None
    assert fpm.pool.name == "blog"
    assert fpm.pool.listen_at == f"{FPM_ROOT}/pool.d/blog.conf:5"
    assert fpm.error_log == "/var/log/php8.2-fpm.log"
    assert fpm.php_error_log == "/var/log/php/blog-error.log"
    assert fpm.socket_exists is False  # the recorded host has no such socket


def test_nginx_site_comes_from_the_recorded_host(machine: RecordedHost) -> None:
    evidence = collect_server(
        8080,
        "blog.example",
        config_file=f"{NGINX_ROOT}/nginx.conf",
        server_hint="nginx",
        php_fpm_config=f"{FPM_ROOT}/php-fpm.conf",
        host=machine,
    )
    site = evidence.nginx
    assert site is not None
    assert site.docroot == "/srv/blog/current"
    assert site.error_log == "/var/log/nginx/blog-error.log"
    assert site.access_log == "/var/log/nginx/blog-access.log"
    assert site.fastcgi_pass == "unix:/run/php/php8.2-fpm.sock"
    fpm = evidence.php_fpm
    assert fpm is not None and fpm.pool is not None and fpm.pool.name == "www"


def test_a_recorded_include_that_is_missing_is_said(machine: RecordedHost) -> None:
    conf = f"{APACHE_ROOT}/broken.conf"
    machine.files[conf] = RecordedFile(content=b"Include missing/*.conf\nInclude /nowhere\n")
    config = read_apache_config(conf, APACHE_ROOT, files=HostFiles(machine))
    assert [p[3] for p in config.problems] == [
        "Include missing/*.conf: no such file (httpd will not start)",
        "Include /nowhere: no such file (httpd will not start)",
    ]
    nginx = read_nginx_config(f"{NGINX_ROOT}/nginx.conf", HostFiles(machine))
    assert nginx.problems == []  # mime.types, fastcgi_params, sites-enabled/* all found


def test_host_files_keep_the_bounds(machine: RecordedHost) -> None:
    files = HostFiles(machine)
    machine.files["/srv/recorded-host/big.conf"] = RecordedFile(content=b"#" * 2000)
    machine.files["/srv/recorded-host/bin.conf"] = RecordedFile(content=b"ELF\0" + b"x" * 9000)
    with pytest.raises(OSError, match="larger than 1000 bytes"):
        files.read_text("/srv/recorded-host/big.conf", 1000)
    assert files.read_text("/srv/recorded-host/bin.conf", 1 << 20) == "ELF\0" + "x" * 8188
    with pytest.raises(OSError) as missing:
        files.read_text("/srv/recorded-host/none.conf", 1000)
    assert missing.value.strerror == "No such file or directory"
    assert host_glob(machine, f"{APACHE_ROOT}/s*/*.conf") == [
        f"{APACHE_ROOT}/sites/000-default.conf",
        f"{APACHE_ROOT}/sites/blog.conf",
    ]


def test_the_local_default_reads_the_fixture_configs_as_before(tmp_path: Path) -> None:
    here = tmp_path / "apache2"
    for path, entry in tree(FIXTURES / "apache", str(here), str(here)).items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(entry.content)
    conf = str(here / "apache2.conf")
    site = read_apache_site([], config_file=conf, port=8080, host="blog.example", modules=False)
    assert (site.server_name, site.docroot) == ("blog.example", "/srv/example/current")
    assert site.error_log == "/var/log/apache2/blog-error.log"
    # The same facts through a LocalHost: the seam changes where, not what, is read.
    local = read_apache_config(conf, str(here), files=HostFiles(LocalHost()))
    default = read_apache_config(conf, str(here))
    assert local.directives == default.directives and local.problems == default.problems
    assert included_files(str(here / "sites"), LOCAL_FILES) == [
        str(here / "sites" / "000-default.conf"),
        str(here / "sites" / "blog.conf"),
    ]
    nginx = read_nginx_site(
        [], config_file=str(FIXTURES / "nginx" / "nginx.conf"), port=8080, host="blog.example"
    )
    assert (nginx.docroot, nginx.error_log) == (
        "/srv/blog/current",
        "/var/log/nginx/blog-error.log",
    )
    fpm_dir = tmp_path / "fpm"
    for path, entry in tree(FIXTURES / "nginx" / "php-fpm", str(fpm_dir), str(fpm_dir)).items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(entry.content)
    settings, pools = read_fpm_config(str(fpm_dir / "php-fpm.conf"))
    assert settings["error_log"] == "/var/log/php8.2-fpm.log"
    assert sorted(p.name for p in pools) == ["api", "blog", "www"]
