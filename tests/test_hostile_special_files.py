"""Config paths that are not regular files: a FIFO with no writer (whose mere open blocks),
a socket, a character device, a directory where a file is expected. Every reader refuses
them unopened with one message naming the file, and reads the rest of the config.

The CLI cases run `premortem` as a child with a timeout (the old nginx reader waited for a
writer forever); the reader cases run in a thread that the test releases by opening the
FIFO's write end itself when the reader hangs, then fails.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from premortem.host import LocalHost
from premortem.readers import apache, haproxy, nginx, phpfpm, phpini, wpconfig
from premortem.readers.files import LOCAL_FILES, HostFiles

T = TypeVar("T")
SECONDS = 20


def premortem(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "premortem", *args],
        capture_output=True,
        text=True,
        timeout=SECONDS,  # the old nginx reader: TimeoutExpired
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def unblocked(fifo: Path, read: Callable[[], T]) -> T:
    """`read()`, which must not wait on `fifo`: when it does, the FIFO is opened for writing
    (and closed) so that the reader returns, and the test fails."""
    result: list[T] = []
    raised: list[BaseException] = []

    def run() -> None:
        try:
            result.append(read())
        except BaseException as exc:  # re-raised in the test's thread
            raised.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(SECONDS)
    if worker.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # releases the blocked open
        worker.join(SECONDS)
        pytest.fail(f"the reader blocked on the FIFO {fifo}")
    if raised:
        raise raised[0]
    return result[0]


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "fifo.conf"
    os.mkfifo(path)  # no writer, ever: a blocking open of it never returns
    yield path


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.php").write_text("<?php echo 1;\n")
    return root


def test_check_nginx_explicit_include_of_a_fifo(tmp_path: Path, fifo: Path, site: Path) -> None:
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"events {{}}\nhttp {{\n include {fifo};\n server {{ listen 8080; root /srv/gone; }}\n}}\n"
    )
    done = premortem("check", str(site), "--server-config", str(conf))
    assert done.returncode == 1
    assert f"include {fifo}: a FIFO, not a regular file: not read" in done.stdout
    assert "root /srv/gone does not exist" in done.stdout, "the server after it is read"


def test_check_apache_include_of_a_fifo(tmp_path: Path, fifo: Path, site: Path) -> None:
    conf = tmp_path / "apache2.conf"
    conf.write_text(
        f"ServerRoot {tmp_path}\nListen 8080\nInclude {fifo}\n"
        "<VirtualHost *:8080>\nDocumentRoot /srv/gone\n</VirtualHost>\n"
    )
    done = premortem("check", str(site), "--server-config", str(conf), "--format", "json")
    assert done.returncode == 1
    assert str(fifo) in done.stdout
    assert "cannot read: a FIFO, not a regular file" in done.stdout
    assert "DocumentRoot /srv/gone is not a directory" in done.stdout


@pytest.mark.parametrize("files", ["local", "host"])
def test_nginx_reader_refuses_fifo_socket_device_and_directory(tmp_path: Path, files: str) -> None:
    """check's reader (this machine's files) and diagnose's (through a Host) alike."""
    fifo = tmp_path / "a-fifo.conf"
    os.mkfifo(fifo)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "a.sock"))
    (tmp_path / "a-dir.conf").mkdir()
    refused = [fifo, tmp_path / "a.sock", Path("/dev/null"), tmp_path / "a-dir.conf"]
    includes = "".join(f" include {path};\n" for path in refused)
    (tmp_path / "nginx.conf").write_text(
        f"events {{}}\nhttp {{\n{includes} server {{ listen 8080; root /srv/www; }}\n}}\n"
    )
    source = LOCAL_FILES if files == "local" else HostFiles(LocalHost())
    try:
        config = unblocked(
            fifo, lambda: nginx.read_nginx_config(str(tmp_path / "nginx.conf"), source)
        )
    finally:
        listener.close()
    said = "\n".join(config.problems)
    for path, what in zip(
        refused, ["a FIFO", "a socket", "a character device", "a directory"], strict=True
    ):
        assert f"include {path}: {what}, not a regular file: not read" in said, said
    assert len(config.servers) == 1, "the server block after the includes is read"


def test_nginx_fifo_matched_by_a_glob_is_refused_by_name(tmp_path: Path) -> None:
    inc = tmp_path / "inc"
    inc.mkdir()
    os.mkfifo(inc / "a.conf")
    (inc / "b.conf").write_text("server { listen 8080; root /srv/www; }\n")
    (tmp_path / "nginx.conf").write_text(f"events {{}}\nhttp {{\n include {inc}/*.conf;\n}}\n")
    config = unblocked(
        inc / "a.conf", lambda: nginx.read_nginx_config(str(tmp_path / "nginx.conf"))
    )
    assert any(
        p.startswith(f"{inc}/a.conf:") and "a FIFO, not a regular file" in p
        for p in config.problems
    ), config.problems
    assert len(config.servers) == 1


def test_apache_reader_through_a_host_names_the_fifo(tmp_path: Path, fifo: Path) -> None:
    (tmp_path / "apache2.conf").write_text(f"Include {fifo}\nListen 8080\n")
    config = unblocked(
        fifo,
        lambda: apache.read_apache_config(
            str(tmp_path / "apache2.conf"), files=HostFiles(LocalHost())
        ),
    )
    assert (str(fifo), 0, "error", "cannot read: a FIFO, not a regular file") in config.problems
    assert config.named("Listen")


def test_phpfpm_include_of_a_fifo(tmp_path: Path, fifo: Path) -> None:
    (tmp_path / "www.conf").write_text("[www]\nlisten = /run/php/www.sock\n")
    (tmp_path / "php-fpm.conf").write_text(
        f"[global]\ninclude={fifo}\ninclude={tmp_path}/www.conf\n"
    )
    problems: list[str] = []
    _settings, pools = unblocked(
        fifo, lambda: phpfpm.read_fpm_config(str(tmp_path / "php-fpm.conf"), problems)
    )
    assert [p.name for p in pools] == ["www"]
    assert problems == [f"cannot read {fifo}: a FIFO, not a regular file"]


def test_php_ini_wp_config_and_haproxy_config_fifos(tmp_path: Path, fifo: Path) -> None:
    ini = tmp_path / "php.ini"
    ini.write_text("display_errors = On\n")
    settings = unblocked(fifo, lambda: phpini.ini_logging_settings([str(ini), str(fifo)]))
    assert settings == {"display_errors": "On"}, "the readable file is read, the FIFO skipped"
    assert unblocked(fifo, lambda: wpconfig.read_wp_config(fifo)) is None
    with pytest.raises(haproxy.PremortemError, match="a FIFO, not a regular file"):
        unblocked(fifo, lambda: haproxy.read_haproxy_config(str(fifo)))


def test_log_tail_of_a_fifo_or_a_terminal_is_refused(fifo: Path) -> None:
    """diagnose reads logs' tails through the Host: `error_log /dev/stderr` or a FIFO."""
    host = LocalHost()
    data, why = unblocked(fifo, lambda: host.read_tail(str(fifo), 1 << 20))
    assert data is None and why == "a FIFO, not a regular file: not read"
    assert host.read_tail("/dev/null", 1 << 20) == (
        None,
        "a character device, not a regular file: not read",
    )
    assert unblocked(fifo, lambda: host.read_bytes(str(fifo), 100)) is None
