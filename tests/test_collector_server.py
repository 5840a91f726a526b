"""The server collector: listeners on a port, and the Apache config of a site."""

from __future__ import annotations

import os
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path

from premortem.collectors.server import (
    collect_server,
    listeners_on,
    read_apache_site,
    read_nginx_site,
)
from premortem.host import ListeningSocket, LocalHost, ProcessInfo, RecordedHost

TREE = Path(__file__).parent / "fixtures" / "diagnose" / "apache"


def config_tree(tmp_path: Path) -> Path:
    root = tmp_path / "apache"
    shutil.copytree(TREE, root)
    conf = root / "apache2.conf"
    conf.write_text(conf.read_text().replace("@HERE@", str(root)))
    return root


def test_vhost_matching_port_and_name(tmp_path: Path) -> None:
    root = config_tree(tmp_path)
    site = read_apache_site(
        ["/usr/sbin/apache2", "-d", str(root), "-k", "start"], port=8080, host="127.0.0.1"
    )
    assert site.config_file == str(root / "apache2.conf")
    assert site.docroot == "/srv/example/current"  # Define'd variable
    assert site.error_log == "/var/log/apache2/blog-error.log"  # envvars variable
    assert site.access_log == "/var/log/apache2/blog-access.log"  # continued line
    assert site.directory_index == ["index.php", "index.html"]
    assert site.listen == ["80", "127.0.0.1:8080"]
    assert site.php_module_loaded and site.php_handler
    assert site.php_settings.get("log_errors") == "off"
    assert site.files_read == 4


def test_default_vhost_and_global_error_log(tmp_path: Path) -> None:
    root = config_tree(tmp_path)
    site = read_apache_site([], config_file=str(root / "apache2.conf"), port=80, host="x")
    assert site.docroot == "/var/www/html"
    assert site.error_log == "/var/log/apache2/error.log"


def test_unreadable_config_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    site = read_apache_site([], config_file=str(tmp_path / "missing.conf"))
    assert site.problems and "cannot read" in site.problems[0]


def test_listener_of_our_own_socket() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        [listener] = listeners_on(port, LocalHost())
        assert listener.port == port and listener.pid == os.getpid()
        evidence = collect_server(port, host=LocalHost())
        assert evidence.kind is not None and evidence.master_pid is not None
    assert listeners_on(port, LocalHost()) == []


NGINX = Path(__file__).parent / "fixtures" / "diagnose" / "nginx" / "nginx.conf"


def test_nginx_server_block_for_port_and_name() -> None:
    site = read_nginx_site([], config_file=str(NGINX), port=8080, host="127.0.0.1")
    assert site.docroot == "/srv/blog/current"
    assert site.error_log == "/var/log/nginx/blog-error.log"
    assert site.access_log == "/var/log/nginx/blog-access.log"
    assert site.fastcgi_pass == "unix:/run/php/php8.2-fpm.sock"
    assert site.problems == []


def test_nginx_master_cmdline_config_and_inherited_logs() -> None:
    site = read_nginx_site(["nginx:", "-c", str(NGINX)], port=80, host="other.example")
    assert site.docroot == "/var/www/html" and site.fastcgi_pass == ""
    assert site.error_log == "/var/log/nginx/error.log"  # from the main context
    assert site.access_log == "/var/log/nginx/access.log"  # from the http block


def test_loaded_modules_come_from_the_apache_binary(tmp_path: Path) -> None:
    conf = tmp_path / "httpd.conf"
    conf.write_text(
        f'ServerRoot "{tmp_path}"\nServerName 127.0.0.1\nListen 127.0.0.1:1\n'
        f'PidFile "{tmp_path}/pid"\nErrorLog "{tmp_path}/error.log"\n'
        "LoadModule mpm_prefork_module /usr/lib/apache2/modules/mod_mpm_prefork.so\n"
        "LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so\n"
        "LoadModule headers_module /usr/lib/apache2/modules/mod_headers.so\n"
    )
    site = read_apache_site([], config_file=str(conf), port=1)
    assert "headers_module" in site.loaded_modules and "core_module" in site.loaded_modules
    assert "rewrite_module" not in site.loaded_modules
    assert not site.php_module_loaded


def test_the_master_behind_a_port_its_live_workers_and_their_users() -> None:
    conf = str(NGINX)
    title = f"nginx: master process /usr/sbin/nginx -c {conf}"
    machine = RecordedHost(
        procs=[
            ProcessInfo(10, 1, "nginx", (title,), "root"),
            ProcessInfo(11, 10, "nginx", ("nginx: worker process",), "www-data"),
            ProcessInfo(12, 10, "nginx", ("nginx: worker process",), "www-data", zombie=True),
        ],
        # The kernel names the worker that accepted on the socket, not the master.
        sockets=[ListeningSocket(11, "0.0.0.0", 8080)],
    )
    evidence = collect_server(8080, config_file=conf, host=machine)
    assert (evidence.kind, evidence.master_pid) == ("nginx", 10)
    assert evidence.worker_pids == [11]  # the zombie has exited
    assert evidence.worker_users == ["www-data"]
    assert evidence.running["nginx"] and not evidence.running["apache"]
    assert [(m.pid, m.kind, m.config_file, m.ports) for m in evidence.masters] == [
        (10, "nginx", conf, [8080])
    ]


@dataclass
class ReloadingHost(RecordedHost):
    """An Apache in a graceful restart: its old workers have exited, the new ones come after
    `forks_after` pauses."""

    forks_after: int = 3
    paused: list[float] = field(default_factory=list)

    def pause(self, seconds: float) -> None:
        self.paused.append(seconds)
        if len(self.paused) == self.forks_after:
            self.procs.append(ProcessInfo(21, 20, "apache2", ("/usr/sbin/apache2",), "www-data"))


def test_a_master_between_old_and_new_workers_is_given_time_to_fork_them() -> None:
    master = ProcessInfo(20, 1, "apache2", ("/usr/sbin/apache2", "-k", "start"), "root")
    old = ProcessInfo(19, 20, "apache2", ("/usr/sbin/apache2",), "www-data", zombie=True)
    machine = ReloadingHost(procs=[master, old], sockets=[ListeningSocket(20, "0.0.0.0", 8080)])
    evidence = collect_server(8080, host=machine)
    assert (evidence.kind, evidence.master_pid) == ("apache", 20)
    assert evidence.worker_pids == [21] and len(machine.paused) == 3
    # One that never forks is waited for a bounded time, then said to have none.
    machine = ReloadingHost(procs=[master], forks_after=0, sockets=machine.sockets)
    assert collect_server(8080, host=machine).worker_pids == []
    assert 1 <= sum(machine.paused) <= 3
