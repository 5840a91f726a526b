"""An "existing site" as users have one: Debian's own apache2 layout, run as a private instance.

`DebianApacheSite` copies /etc/apache2 (apache2.conf, envvars, mods/conf/sites-enabled, as
the package installed them) into a directory of its own, and changes only what makes it a
private instance: envvars' run, lock and log dirs, ports.conf's `Listen 127.0.0.1:PORT`, and
a name-based virtual host in sites-available/ enabled by a symlink, as a2ensite does (the
package's 000-default is disabled the same way). It starts with Debian's own
`apache2ctl start` (APACHE_CONFDIR pointing at the copy) and stops with `apache2ctl stop`,
so the running master looks exactly like the system's: `/usr/sbin/apache2 -d DIR -k start`
with Debian's environment. The system's own apache2 (if any) is never touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from config_copy import copy_config_tree
from premortem.ops.lab.procs import free_port, is_alive, read_pid, wait_gone, wait_listening

VHOST = """<VirtualHost 127.0.0.1:{port}>
    ServerName {name}
    ServerAlias www.{name}
    DocumentRoot {docroot}
    <Directory {docroot}>
        AllowOverride All
        Require all granted
    </Directory>
    ErrorLog ${{APACHE_LOG_DIR}}/{name}-error.log
{custom_log}</VirtualHost>
"""


TLS_VHOST = """<VirtualHost 127.0.0.1:{port}>
    ServerName {name}
    DocumentRoot {docroot}
    <Directory {docroot}>
        Require all granted
    </Directory>
    ErrorLog ${{APACHE_LOG_DIR}}/{name}-error.log
    SSLEngine on
    SSLCertificateFile {cert}
    SSLCertificateKeyFile {key}
</VirtualHost>
"""


@dataclass(frozen=True)
class NamedVhost:
    """Another name-based virtual host on the same address and port as the site."""

    name: str
    docroot: Path


class DebianApacheSite:
    """A private apache2 instance in Debian's layout serving `name` from `docroot`.

    `own_access_log`: the vhosts have their own `CustomLog ... combined`; otherwise their
    requests go to Debian's other_vhosts_access.log (vhost_combined), as with a2ensite's
    defaults. `other_vhosts`: more sites on the same port, chosen by the Host header; the
    site's own vhost stays the port's default (Apache's first vhost of the address), so
    `url` (Host 127.0.0.1) is served by it.
    """

    def __init__(
        self,
        base: Path,
        docroot: Path,
        name: str = "blog.test",
        own_access_log: bool = True,
        other_vhosts: Sequence[NamedVhost] = (),
    ) -> None:
        if any(other.name <= name for other in other_vhosts):
            # sites-enabled/ is included in name order: the first file is the default vhost.
            raise ValueError(f"other vhosts must sort after {name!r} to leave it the default")
        self.base = base
        self.docroot = docroot
        self.name = name
        self.own_access_log = own_access_log
        self.other_vhosts = tuple(other_vhosts)
        self.port = free_port()
        self.confdir = base / "etc" / "apache2"
        self.log_dir = base / "log"
        self.run_dir = base / "run"
        self.tls_port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def vhost_file(self) -> Path:
        return self.vhost_file_of(self.name)

    def vhost_file_of(self, name: str) -> Path:
        return self.confdir / "sites-available" / f"{name}.conf"

    @property
    def error_log(self) -> Path:
        return self.log_dir / f"{self.name}-error.log"

    @property
    def access_log(self) -> Path:
        name = "access.log" if self.own_access_log else "other_vhosts_access.log"
        return self.log_dir / name

    def build(self) -> None:
        copy_config_tree("/etc/apache2", self.confdir)
        for directory in (self.log_dir, self.run_dir, self.base / "lock"):
            directory.mkdir(parents=True, exist_ok=True)
        with (self.confdir / "envvars").open("a") as envvars:
            envvars.write(
                "\n# A private instance: its own run, lock and log dirs.\n"
                f"export APACHE_RUN_DIR={self.run_dir}\n"
                f"export APACHE_PID_FILE={self.run_dir}/apache2.pid\n"
                f"export APACHE_LOCK_DIR={self.base}/lock\n"
                f"export APACHE_LOG_DIR={self.log_dir}\n"
            )
        (self.confdir / "ports.conf").write_text(f"Listen 127.0.0.1:{self.port}\n")
        for enabled in (self.confdir / "sites-enabled").iterdir():
            enabled.unlink()
        self._enable_vhost(self.name, self.docroot)
        for other in self.other_vhosts:
            self._enable_vhost(other.name, other.docroot)

    def _enable_vhost(self, name: str, docroot: Path) -> None:
        """sites-available/NAME.conf, enabled by a relative symlink as a2ensite makes it."""
        custom_log = (
            "    CustomLog ${APACHE_LOG_DIR}/access.log combined\n" if self.own_access_log else ""
        )
        vhost_file = self.vhost_file_of(name)
        vhost_file.write_text(
            VHOST.format(port=self.port, name=name, docroot=docroot, custom_log=custom_log)
        )
        (self.confdir / "sites-enabled" / vhost_file.name).symlink_to(
            f"../sites-available/{vhost_file.name}"
        )

    def enable_tls(self, cert: Path, key: Path) -> int:
        """An HTTPS vhost for the site on a port of its own, as a2enmod ssl and a
        NAME-ssl.conf site make it; returns the port. Call after build()."""
        for module in ("socache_shmcb.load", "ssl.load", "ssl.conf"):
            enabled = self.confdir / "mods-enabled" / module
            if not enabled.exists():
                enabled.symlink_to(f"../mods-available/{module}")
        self.tls_port = free_port()
        with (self.confdir / "ports.conf").open("a") as ports:
            ports.write(f"Listen 127.0.0.1:{self.tls_port}\n")
        vhost_file = self.vhost_file_of(f"{self.name}-ssl")
        vhost_file.write_text(
            TLS_VHOST.format(
                port=self.tls_port, name=self.name, docroot=self.docroot, cert=cert, key=key
            )
        )
        (self.confdir / "sites-enabled" / vhost_file.name).symlink_to(
            f"../sites-available/{vhost_file.name}"
        )
        return self.tls_port

    def switch_to_php_fpm(self, socket: Path) -> None:
        """mod_php -> php-fpm the Debian way (a2dismod php8.2 mpm_prefork; a2enmod mpm_event
        proxy_fcgi setenvif; a2enconf php8.2-fpm), on the copy; the conf's handler names
        `socket`, where the site's private pool listens. Call after build()."""
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "APACHE_CONFDIR": str(self.confdir)}
        for command in (
            ["a2dismod", "-q", "php8.2", "mpm_prefork"],
            ["a2enmod", "-q", "mpm_event", "proxy_fcgi", "setenvif"],
            ["a2enconf", "-q", "php8.2-fpm"],
        ):
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
        handler = self.confdir / "conf-available" / "php8.2-fpm.conf"
        text = handler.read_text()
        assert "/run/php/php8.2-fpm.sock" in text, handler
        handler.write_text(text.replace("/run/php/php8.2-fpm.sock", str(socket)))

    def apache2ctl(self, action: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "APACHE_CONFDIR": str(self.confdir)}
        return subprocess.run(
            ["apache2ctl", action], env=env, capture_output=True, text=True, timeout=30, check=False
        )

    @property
    def pid(self) -> int | None:
        return read_pid(self.run_dir / "apache2.pid")

    def start(self) -> None:
        started = self.apache2ctl("start")
        if started.returncode != 0 or not wait_listening(self.port, timeout=15):
            raise RuntimeError(f"apache2ctl start failed: {started.stdout}{started.stderr}")

    def stop(self) -> None:
        pid = self.pid
        if pid is None or not is_alive(pid):
            return
        self.apache2ctl("stop")
        if wait_gone([pid], timeout=15):
            os.kill(pid, signal.SIGKILL)
            wait_gone([pid], timeout=5)

    def wait_log_line(self, log: Path, text: str, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if log.exists() and text in log.read_text(errors="replace"):
                return True
            time.sleep(0.1)
        return False
