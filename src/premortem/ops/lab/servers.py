"""The lab's two web-server flavours behind one interface: what `Lab` asks of a server.

- apache: its own Apache httpd, prefork + mod_php (apache.py);
- nginx: its own nginx, with PHP through its own php-fpm on a unix socket (nginx.py,
  phpfpm.py);
- apache-fpm: its own Apache, event MPM, with PHP through its own php-fpm by proxy_fcgi
  (apache.py, apache_fpm.py, phpfpm.py).

A lab's flavour is chosen at its first `up` (`--server`) and remembered in state/lab.json.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from premortem.errors import PremortemError
from premortem.ops.lab import apache, apache_fpm, nginx, phpfpm
from premortem.ops.lab.layout import LabPaths
from premortem.ops.lab.procs import LabDaemon

SERVER_NAMES = ("apache", "nginx", "apache-fpm")


@dataclass(frozen=True)
class Service:
    """One of a flavour's daemons as the flavour drives it."""

    name: str
    daemon: LabDaemon
    config_test: Callable[[LabPaths], None]
    start: Callable[[LabPaths, int | None], object]
    reload: Callable[[LabPaths], None]
    config: Callable[[LabPaths], Path]


APACHE = Service(
    "apache",
    apache.DAEMON,
    apache.config_test,
    lambda paths, nofile: apache.start(paths, nofile=nofile),
    apache.graceful,
    lambda paths: paths.httpd_conf,
)
NGINX = Service(
    "nginx",
    nginx.DAEMON,
    nginx.config_test,
    lambda paths, _nofile: nginx.start(paths),
    nginx.reload,
    lambda paths: paths.nginx_conf,
)
PHP_FPM = Service(
    "php-fpm",
    phpfpm.DAEMON,
    phpfpm.config_test,
    lambda paths, _nofile: phpfpm.start(paths),
    phpfpm.reload,
    lambda paths: paths.fpm_conf,
)


class WebServer(ABC):
    """One flavour: its processes, configs and the file holding the site's PHP settings."""

    name: ClassVar[str]
    # The web server in front of PHP, as premortem.toml's `server` says it.
    site_server: ClassVar[str]
    # Services a fault may stop (journal `stopped`); repair starts them again.
    services: ClassVar[tuple[str, ...]]
    # Its daemons, the front web server first (started last, stopped first).
    stack: ClassVar[tuple[Service, ...]]

    @abstractmethod
    def make_layout(self, paths: LabPaths) -> None: ...

    def write_configs(
        self,
        paths: LabPaths,
        port: int,
        rewrite: bool,
        tls: bool = False,
        address: str = "127.0.0.1",
    ) -> None:
        """Render the configs; rewrite=False keeps existing ones (a fault may have edited);
        tls: serve HTTPS with the lab's certificate (tls.py); address: where to listen (a
        fleet host's network-namespace address). The site's PHP settings file is written
        only when missing."""
        for path, render in self.configs(paths, port, tls, address).items():
            if rewrite or not path.exists():
                path.write_text(render())
        settings = self.php_settings_file(paths)
        if not settings.exists():
            settings.write_text(self.render_php_settings(paths, log_errors=True))
        self.write_extras(paths, rewrite)

    @abstractmethod
    def configs(
        self, paths: LabPaths, port: int, tls: bool, address: str
    ) -> dict[Path, Callable[[], str]]:
        """The flavour's server configs (not the PHP settings), each with its renderer."""

    def write_extras(self, paths: LabPaths, rewrite: bool) -> None:
        """Whatever else a flavour keeps beside its configs (none by default)."""
        return None

    def config_test(self, paths: LabPaths) -> None:
        for service in reversed(self.stack):
            service.config_test(paths)

    def start(self, paths: LabPaths, nofile: int | None = None) -> None:
        """Start whatever of the flavour's processes is not running: PHP's pool before the
        front server, whose first PHP request must find the socket."""
        if nofile is not None and APACHE not in self.stack:
            raise PremortemError("open-file limits are an Apache-flavour fault only")
        for service in reversed(self.stack):
            service.start(paths, nofile if service is APACHE else None)

    def stop(self, paths: LabPaths) -> None:
        for service in self.stack:
            service.daemon.stop(paths)

    def reload(self, paths: LabPaths) -> None:
        """Re-read every config without closing the listening socket."""
        for service in reversed(self.stack):
            service.reload(paths)

    @abstractmethod
    def reload_php(self, paths: LabPaths) -> None:
        """Make PHP's workers pick up a change of the site's PHP settings."""

    def pids(self, paths: LabPaths) -> dict[str, list[int]]:
        """Running processes by service, each parent first (absent when not running)."""
        found: dict[str, list[int]] = {}
        for service in self.stack:
            parent = service.daemon.pid(paths)
            if parent is not None:
                found[service.name] = [parent, *service.daemon.worker_pids(paths)]
        return found

    def config_file(self, paths: LabPaths) -> Path:
        """The web server's own config (premortem.toml `server_config`)."""
        return self.stack[0].config(paths)

    @abstractmethod
    def php_settings_file(self, paths: LabPaths) -> Path: ...

    @abstractmethod
    def render_php_settings(self, paths: LabPaths, *, log_errors: bool) -> str: ...

    @abstractmethod
    def site_config_extra(self, paths: LabPaths) -> dict[str, Any]:
        """Keys of premortem.toml's [lab] table that belong to this flavour (the lab's own)."""

    def site_settings(self, paths: LabPaths) -> dict[str, str]:
        """Typed site settings (SiteConfig fields) this flavour sets: where its PHP logs
        and PID files are."""
        return {}

    def running(self, paths: LabPaths) -> bool:
        """Every one of the flavour's services runs."""
        found = self.pids(paths)
        return all(service in found for service in self.services)


class ApacheServer(WebServer):
    name = "apache"
    site_server = "apache"
    services = ("apache",)
    stack = (APACHE,)

    def make_layout(self, paths: LabPaths) -> None:
        paths.apache_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(paths.apache_dir, 0o755)
        paths.apache_run.mkdir(parents=True, exist_ok=True)

    def configs(
        self, paths: LabPaths, port: int, tls: bool, address: str
    ) -> dict[Path, Callable[[], str]]:
        return {
            paths.httpd_conf: lambda: apache.render_httpd_conf(
                paths, port, tls=tls, address=address
            )
        }

    def write_extras(self, paths: LabPaths, rewrite: bool) -> None:
        if rewrite or not paths.php_conf_d.is_dir():
            apache.sync_php_conf_d(paths)

    def reload_php(self, paths: LabPaths) -> None:
        # mod_php lives in Apache's workers.
        apache.graceful(paths)

    def php_settings_file(self, paths: LabPaths) -> Path:
        return paths.php_site_conf

    def render_php_settings(self, paths: LabPaths, *, log_errors: bool) -> str:
        return apache.render_php_site_conf(log_errors=log_errors)

    def site_config_extra(self, paths: LabPaths) -> dict[str, Any]:
        return {
            "apache_pid_file": str(paths.apache_pid),
            "php_site_config": str(paths.php_site_conf),
        }


class PhpFpmPool:
    """What the flavours running PHP in the lab's php-fpm pool share (nginx, apache-fpm)."""

    def reload_php(self, paths: LabPaths) -> None:
        phpfpm.reload(paths)

    def site_config_extra(self, paths: LabPaths) -> dict[str, Any]:
        return {
            "php_fpm_pool_config": str(paths.fpm_pool_conf),
            "php_fpm_socket": str(paths.fpm_socket),
        }

    def php_settings_file(self, paths: LabPaths) -> Path:
        return paths.fpm_pool_conf

    def render_php_settings(self, paths: LabPaths, *, log_errors: bool) -> str:
        return phpfpm.render_pool_conf(paths, log_errors=log_errors)


class NginxServer(PhpFpmPool, WebServer):
    name = "nginx"
    site_server = "nginx"
    services = ("nginx", "php-fpm")
    stack = (NGINX, PHP_FPM)

    def make_layout(self, paths: LabPaths) -> None:
        nginx.make_dirs(paths)
        phpfpm.make_dirs(paths)

    def configs(
        self, paths: LabPaths, port: int, tls: bool, address: str
    ) -> dict[Path, Callable[[], str]]:
        return {
            paths.nginx_conf: lambda: nginx.render_nginx_conf(paths, port, tls, address),
            paths.fpm_conf: lambda: phpfpm.render_fpm_conf(paths),
        }

    def site_settings(self, paths: LabPaths) -> dict[str, str]:
        return {
            "nginx_pid_file": str(paths.nginx_pid),
            "php_fpm_config": str(paths.fpm_conf),
            "php_fpm_pid_file": str(paths.fpm_pid),
            "php_fpm_log": str(paths.fpm_log),
            "php_error_log": str(paths.php_error_log),
        }


class ApacheFpmServer(PhpFpmPool, WebServer):
    """Apache (event MPM, proxy_fcgi) in front of the nginx flavour's php-fpm pool."""

    name = "apache-fpm"
    site_server = "apache"
    services = ("apache", "php-fpm")
    stack = (APACHE, PHP_FPM)

    def make_layout(self, paths: LabPaths) -> None:
        ApacheServer().make_layout(paths)
        phpfpm.make_dirs(paths)

    def configs(
        self, paths: LabPaths, port: int, tls: bool, address: str
    ) -> dict[Path, Callable[[], str]]:
        return {
            paths.httpd_conf: lambda: apache.render_httpd_conf(
                paths, port, apache_fpm.PHP_FPM, tls=tls, address=address
            ),
            paths.fpm_handler_conf: lambda: apache_fpm.render_handler_conf(paths),
            paths.fpm_conf: lambda: phpfpm.render_fpm_conf(paths),
        }

    def site_config_extra(self, paths: LabPaths) -> dict[str, Any]:
        return {
            "apache_pid_file": str(paths.apache_pid),
            "php_fpm_handler_config": str(paths.fpm_handler_conf),
            **super().site_config_extra(paths),
        }

    def site_settings(self, paths: LabPaths) -> dict[str, str]:
        settings = NginxServer().site_settings(paths)
        settings.pop("nginx_pid_file")
        return settings


def server_named(name: str) -> WebServer:
    if name == "apache":
        return ApacheServer()
    if name == "nginx":
        return NginxServer()
    if name == "apache-fpm":
        return ApacheFpmServer()
    raise PremortemError(f"unknown lab server {name!r}; known: {', '.join(SERVER_NAMES)}")
