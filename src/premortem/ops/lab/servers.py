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
from pathlib import Path
from typing import Any, ClassVar

from premortem.errors import PremortemError
from premortem.ops.lab import apache, apache_fpm, nginx, phpfpm
from premortem.ops.lab.layout import LabPaths

SERVER_NAMES = ("apache", "nginx", "apache-fpm")


class WebServer(ABC):
    """One flavour: its processes, configs and the file holding the site's PHP settings."""

    name: ClassVar[str]
    # The web server in front of PHP, as premortem.toml's `server` says it.
    site_server: ClassVar[str]
    # Services a fault may stop (journal `stopped`); repair starts them again.
    services: ClassVar[tuple[str, ...]]

    @abstractmethod
    def make_layout(self, paths: LabPaths) -> None: ...

    @abstractmethod
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
        fleet host's network-namespace address)."""

    @abstractmethod
    def config_test(self, paths: LabPaths) -> None: ...

    @abstractmethod
    def start(self, paths: LabPaths, nofile: int | None = None) -> None:
        """Start whatever of the flavour's processes is not running."""

    @abstractmethod
    def stop(self, paths: LabPaths) -> None: ...

    @abstractmethod
    def reload(self, paths: LabPaths) -> None:
        """Re-read every config without closing the listening socket."""

    @abstractmethod
    def reload_php(self, paths: LabPaths) -> None:
        """Make PHP's workers pick up a change of the site's PHP settings."""

    @abstractmethod
    def pids(self, paths: LabPaths) -> dict[str, list[int]]:
        """Running processes by service, each parent first (absent when not running)."""

    @abstractmethod
    def config_file(self, paths: LabPaths) -> Path:
        """The web server's own config (premortem.toml `server_config`)."""

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

    def make_layout(self, paths: LabPaths) -> None:
        paths.apache_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(paths.apache_dir, 0o755)
        paths.apache_run.mkdir(parents=True, exist_ok=True)

    def write_configs(
        self,
        paths: LabPaths,
        port: int,
        rewrite: bool,
        tls: bool = False,
        address: str = "127.0.0.1",
    ) -> None:
        if rewrite or not paths.httpd_conf.exists():
            paths.httpd_conf.write_text(
                apache.render_httpd_conf(paths, port, tls=tls, address=address)
            )
        if not paths.php_site_conf.exists():
            paths.php_site_conf.write_text(apache.render_php_site_conf(log_errors=True))
        if rewrite or not paths.php_conf_d.is_dir():
            apache.sync_php_conf_d(paths)

    def config_test(self, paths: LabPaths) -> None:
        apache.config_test(paths)

    def start(self, paths: LabPaths, nofile: int | None = None) -> None:
        apache.start(paths, nofile=nofile)

    def stop(self, paths: LabPaths) -> None:
        apache.stop(paths)

    def reload(self, paths: LabPaths) -> None:
        apache.graceful(paths)

    def reload_php(self, paths: LabPaths) -> None:
        # mod_php lives in Apache's workers.
        apache.graceful(paths)

    def pids(self, paths: LabPaths) -> dict[str, list[int]]:
        parent = apache.pid(paths)
        if parent is None:
            return {}
        return {"apache": [parent, *apache.worker_pids(paths)]}

    def config_file(self, paths: LabPaths) -> Path:
        return paths.httpd_conf

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

    def php_settings_file(self, paths: LabPaths) -> Path:
        return paths.fpm_pool_conf

    def render_php_settings(self, paths: LabPaths, *, log_errors: bool) -> str:
        return phpfpm.render_pool_conf(paths, log_errors=log_errors)


class NginxServer(PhpFpmPool, WebServer):
    name = "nginx"
    site_server = "nginx"
    services = ("nginx", "php-fpm")

    def make_layout(self, paths: LabPaths) -> None:
        nginx.make_dirs(paths)
        phpfpm.make_dirs(paths)

    def write_configs(
        self,
        paths: LabPaths,
        port: int,
        rewrite: bool,
        tls: bool = False,
        address: str = "127.0.0.1",
    ) -> None:
        if rewrite or not paths.nginx_conf.exists():
            paths.nginx_conf.write_text(nginx.render_nginx_conf(paths, port, tls, address))
        if rewrite or not paths.fpm_conf.exists():
            paths.fpm_conf.write_text(phpfpm.render_fpm_conf(paths))
        if not paths.fpm_pool_conf.exists():
            paths.fpm_pool_conf.write_text(phpfpm.render_pool_conf(paths, log_errors=True))

    def config_test(self, paths: LabPaths) -> None:
        phpfpm.config_test(paths)
        nginx.config_test(paths)

    def start(self, paths: LabPaths, nofile: int | None = None) -> None:
        if nofile is not None:
            raise PremortemError("open-file limits are an Apache-flavour fault only")
        # PHP first: nginx's first request must find the socket.
        phpfpm.start(paths)
        nginx.start(paths)

    def stop(self, paths: LabPaths) -> None:
        nginx.stop(paths)
        phpfpm.stop(paths)

    def reload(self, paths: LabPaths) -> None:
        phpfpm.reload(paths)
        nginx.reload(paths)

    def pids(self, paths: LabPaths) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        master = nginx.pid(paths)
        if master is not None:
            found["nginx"] = [master, *nginx.worker_pids(paths)]
        fpm = phpfpm.pid(paths)
        if fpm is not None:
            found["php-fpm"] = [fpm, *phpfpm.worker_pids(paths)]
        return found

    def config_file(self, paths: LabPaths) -> Path:
        return paths.nginx_conf

    def site_config_extra(self, paths: LabPaths) -> dict[str, Any]:
        return {
            "php_fpm_pool_config": str(paths.fpm_pool_conf),
            "php_fpm_socket": str(paths.fpm_socket),
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

    def make_layout(self, paths: LabPaths) -> None:
        ApacheServer().make_layout(paths)
        phpfpm.make_dirs(paths)

    def write_configs(
        self,
        paths: LabPaths,
        port: int,
        rewrite: bool,
        tls: bool = False,
        address: str = "127.0.0.1",
    ) -> None:
        if rewrite or not paths.httpd_conf.exists():
            paths.httpd_conf.write_text(
                apache.render_httpd_conf(paths, port, apache_fpm.PHP_FPM, tls=tls, address=address)
            )
        if rewrite or not paths.fpm_handler_conf.exists():
            paths.fpm_handler_conf.write_text(apache_fpm.render_handler_conf(paths))
        if rewrite or not paths.fpm_conf.exists():
            paths.fpm_conf.write_text(phpfpm.render_fpm_conf(paths))
        if not paths.fpm_pool_conf.exists():
            paths.fpm_pool_conf.write_text(phpfpm.render_pool_conf(paths, log_errors=True))

    def config_test(self, paths: LabPaths) -> None:
        phpfpm.config_test(paths)
        apache.config_test(paths)

    def start(self, paths: LabPaths, nofile: int | None = None) -> None:
        # PHP first: Apache's first PHP request must find the socket.
        phpfpm.start(paths)
        apache.start(paths, nofile=nofile)

    def stop(self, paths: LabPaths) -> None:
        apache.stop(paths)
        phpfpm.stop(paths)

    def reload(self, paths: LabPaths) -> None:
        phpfpm.reload(paths)
        apache.graceful(paths)

    def pids(self, paths: LabPaths) -> dict[str, list[int]]:
        found = ApacheServer().pids(paths)
        fpm = phpfpm.pid(paths)
        if fpm is not None:
            found["php-fpm"] = [fpm, *phpfpm.worker_pids(paths)]
        return found

    def config_file(self, paths: LabPaths) -> Path:
        return paths.httpd_conf

    def site_config_extra(self, paths: LabPaths) -> dict[str, Any]:
        return {
            "apache_pid_file": str(paths.apache_pid),
            "php_fpm_handler_config": str(paths.fpm_handler_conf),
            **NginxServer().site_config_extra(paths),
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
