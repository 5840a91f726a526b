"""The php-fpm collector: pools from a master config and its includes, the pool behind nginx."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from premortem.collectors.phpfpm import collect_php_fpm
from premortem.collectors.server import collect_server, read_nginx_site
from premortem.host import LocalHost, ProcessInfo, RecordedFile, RecordedHost
from premortem.readers.phpfpm import read_fpm_config, same_address

FIXTURES = Path(__file__).parent / "fixtures" / "diagnose" / "nginx"


@pytest.fixture
def fpm_config(tmp_path: Path) -> Path:
    """Debian's php-fpm layout (php-fpm.conf including pool.d/*.conf) in a temp dir."""
    shutil.copytree(FIXTURES / "php-fpm", tmp_path / "fpm")
    conf = tmp_path / "fpm" / "php-fpm.conf"
    conf.write_text(conf.read_text().replace("@DIR@", str(tmp_path / "fpm")))
    return conf


def as_data(root: Path) -> dict[str, RecordedFile]:
    """The files below `root` as a RecordedHost holds them (the collector reads the host)."""
    return {str(p): RecordedFile(content=p.read_bytes()) for p in root.rglob("*") if p.is_file()}


def test_pools_are_read_through_the_include_glob(fpm_config: Path) -> None:
    global_settings, pools = read_fpm_config(str(fpm_config))
    assert global_settings["error_log"] == "/var/log/php8.2-fpm.log"
    by_name = {pool.name: pool for pool in pools}
    assert sorted(by_name) == ["api", "blog", "www"]
    blog = by_name["blog"]
    # $pool is the section's name; quotes go.
    assert blog.listen == "/run/php/php8.2-fpm-blog.sock"
    assert blog.listen_at == f"{fpm_config.parent}/pool.d/blog.conf:5"
    assert blog.catch_workers_output is True
    assert blog.php_settings == {
        "log_errors": "on",
        "display_errors": "off",
        "error_log": "/var/log/php/blog-error.log",
    }  # memory_limit is not a logging setting
    assert by_name["api"].php_settings == {"error_log": "/var/log/php/api.log"}
    # Commented-out settings of Debian's www pool are not settings.
    assert by_name["www"].catch_workers_output is False
    assert "error_log" not in by_name["www"].php_settings


def test_the_pool_listening_on_nginx_s_address_is_chosen(fpm_config: Path) -> None:
    machine = RecordedHost(files=as_data(fpm_config.parent))
    fpm = collect_php_fpm("unix:/run/php/php8.2-fpm-blog.sock", str(fpm_config), host=machine)
    assert fpm.pool is not None and fpm.pool.name == "blog"
    assert fpm.config_file == str(fpm_config)
    assert fpm.error_log == "/var/log/php8.2-fpm.log"
    assert fpm.php_error_log == "/var/log/php/blog-error.log"
    # Nobody runs this config: not running, and the socket is not there.
    assert fpm.running is False and fpm.master_pid is None
    assert fpm.socket_exists is False
    tcp = collect_php_fpm("127.0.0.1:9001", str(fpm_config), host=machine)
    assert tcp.pool is not None and tcp.pool.name == "api"


def test_the_running_master_of_the_pool_and_its_live_workers(fpm_config: Path) -> None:
    title = f"php-fpm: master process ({fpm_config})"
    machine = RecordedHost(
        procs=[
            ProcessInfo(300, 1, "php-fpm8.2", (title,), "root"),
            ProcessInfo(301, 300, "php-fpm8.2", ("php-fpm: pool blog",), "www-data"),
            ProcessInfo(302, 300, "php-fpm8.2", ("php-fpm: pool blog",), "www-data", zombie=True),
        ],
        files=as_data(fpm_config.parent),
    )
    fpm = collect_php_fpm("unix:/run/php/php8.2-fpm-blog.sock", host=machine)
    assert fpm.config_file == str(fpm_config)  # found from the running master's title
    assert fpm.running and fpm.master_pid == 300
    assert fpm.worker_pids == [301]  # the zombie has exited: nothing to trace there


def test_no_pool_on_the_address_is_said(fpm_config: Path) -> None:
    machine = RecordedHost(files=as_data(fpm_config.parent))
    fpm = collect_php_fpm("unix:/run/php/elsewhere.sock", str(fpm_config), host=machine)
    assert fpm.pool is None
    assert fpm.problems == ["no php-fpm pool config listens on unix:/run/php/elsewhere.sock"]


def test_same_address() -> None:
    assert same_address("/run/php/a.sock", "unix:/run/php//a.sock")
    assert not same_address("/run/php/a.sock", "unix:/run/php/b.sock")
    assert same_address("9000", "127.0.0.1:9000")
    assert same_address("127.0.0.1:9000", "localhost:9000")
    assert not same_address("127.0.0.1:9001", "127.0.0.1:9000")
    assert not same_address("", "127.0.0.1:9000")


def test_nginx_upstream_block_is_resolved_to_its_servers() -> None:
    conf = str(FIXTURES / "upstream.conf")
    blog = read_nginx_site([], config_file=conf, port=8081, host="blog.example")
    assert blog.fastcgi_pass == "php_blog"
    assert blog.fastcgi_servers == ["unix:/run/php/php8.2-fpm-blog.sock"]
    api = read_nginx_site([], config_file=conf, port=8082)
    assert api.fastcgi_servers == ["127.0.0.1:9001"]


@pytest.fixture
def zombie(tmp_path: Path) -> Iterator[int]:
    """A real zombie called nginx: a child that exited and that nobody has reaped yet."""
    binary = tmp_path / "nginx"
    shutil.copy("/bin/true", binary)
    proc = subprocess.Popen([str(binary)])
    try:
        # Read /proc only (never wait()): waiting would reap it.
        deadline = time.monotonic() + 5
        while psutil.Process(proc.pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.01)
        yield proc.pid
    finally:
        proc.wait()


def test_a_zombie_does_not_count_as_running(zombie: int) -> None:
    assert any(p.pid == zombie and p.zombie for p in LocalHost().processes())
    evidence = collect_server(1, host=LocalHost())  # port 1: nobody listens
    assert zombie not in [m.pid for m in evidence.masters]
