"""An "existing site" on nginx + php-fpm as users have one: Debian's own config trees, run
as a private instance.

`DebianNginxSite` copies /etc/nginx (nginx.conf, conf.d, sites-available/-enabled,
snippets, as the package installed them) and /etc/php/8.2/fpm (php-fpm.conf, php.ini,
pool.d/www.conf) into a directory of its own, and changes only what makes them a private
instance:

- nginx.conf: `pid`, `error_log`, `access_log` into the copy's run/ and log/, and its
  absolute includes (/etc/nginx/modules-enabled, conf.d, sites-enabled) pointed at the copy;
  conf.d/ gets the temp paths (Debian's are /var/lib/nginx, the system nginx's);
- a server block in sites-available/ (listen 127.0.0.1:PORT, server_name, root, Debian's
  `include snippets/fastcgi-php.conf` + `fastcgi_pass unix:...`) enabled by a symlink, as
  Debian's default site is (which is disabled the same way);
- php-fpm.conf's `pid`, `error_log` and `include` into the copy, the www pool's `listen` on
  a socket of its own.

nginx starts as `/usr/sbin/nginx -c COPY/nginx.conf -p DIR/` and php-fpm as
`/usr/sbin/php-fpm8.2 -y COPY/php-fpm.conf -c COPY/php.ini`, so the running masters look
like the system's. The system's own nginx and php8.2-fpm (if any) are never touched.
"""

from __future__ import annotations

import os
from pathlib import Path

from config_copy import copy_config_tree
from debian_php_fpm import DebianPhpFpm, rewrite
from premortem.ops.lab.nginx import NGINX_BIN, NGINX_NAMES, TEMP_DIRS
from premortem.ops.lab.procs import (
    free_port,
    run_server_command,
    running_pid,
    server_env,
    terminate,
    wait_listening,
)

SERVER_BLOCK = """server {{
	listen 127.0.0.1:{port};
	server_name {name} www.{name};

	root {docroot};
	index index.php index.html;

	location / {{
		try_files $uri $uri/ /index.php?$args;
	}}

	location ~ \\.php$ {{
		include snippets/fastcgi-php.conf;
		fastcgi_pass unix:{socket};
	}}
}}
"""


class DebianNginxSite:
    """A private nginx + php-fpm instance in Debian's layout serving `name` from `docroot`."""

    def __init__(self, base: Path, docroot: Path, name: str = "blog.test") -> None:
        self.base = base
        self.docroot = docroot
        self.name = name
        self.port = free_port()
        self.confdir = base / "etc" / "nginx"
        self.fpm_dir = base / "etc" / "php" / "8.2" / "fpm"
        self.log_dir = base / "log"
        self.run_dir = base / "run"
        self.temp_dir = base / "lib" / "nginx"
        self.fpm = DebianPhpFpm(self.fpm_dir, self.run_dir, self.log_dir)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def site_file(self) -> Path:
        return self.confdir / "sites-available" / self.name

    @property
    def access_log(self) -> Path:
        return self.log_dir / "access.log"

    @property
    def error_log(self) -> Path:
        return self.log_dir / "error.log"

    @property
    def fpm_config(self) -> Path:
        return self.fpm.config

    @property
    def fpm_socket(self) -> Path:
        return self.fpm.socket

    def build(self) -> None:
        for directory in (self.log_dir, self.run_dir, *(self.temp_dir / t for t in TEMP_DIRS)):
            directory.mkdir(parents=True, exist_ok=True)
            # nginx's and php-fpm's www-data workers reach the socket and temp files.
            os.chmod(directory, 0o755)
        self._build_nginx()
        self.fpm.build()

    def _build_nginx(self) -> None:
        copy_config_tree("/etc/nginx", self.confdir)
        rewrite(
            self.confdir / "nginx.conf",
            {
                "pid /run/nginx.pid;": f"pid {self.run_dir}/nginx.pid;",
                "error_log /var/log/nginx/error.log;": f"error_log {self.error_log};",
                "access_log /var/log/nginx/access.log;": f"access_log {self.access_log};",
                "include /etc/nginx/": f"include {self.confdir}/",
            },
        )
        (self.confdir / "conf.d" / "private-instance.conf").write_text(
            "# A private instance: its own temp dirs, not the system nginx's /var/lib/nginx.\n"
            + "".join(f"{kind}_temp_path {self.temp_dir / kind};\n" for kind in TEMP_DIRS)
        )
        for enabled in (self.confdir / "sites-enabled").iterdir():
            enabled.unlink()
        self.site_file.write_text(
            SERVER_BLOCK.format(
                port=self.port, name=self.name, docroot=self.docroot, socket=self.fpm_socket
            )
        )
        # Absolute, as Debian's own sites-enabled/default link is.
        (self.confdir / "sites-enabled" / self.name).symlink_to(self.site_file)

    @property
    def nginx_pid(self) -> int | None:
        return running_pid(self.run_dir / "nginx.pid", NGINX_NAMES)

    def start(self) -> None:
        """php-fpm first (nginx's first PHP request needs its socket), then nginx."""
        self.fpm.start()
        # -e: where nginx logs before it has read its config (else /var/log/nginx/error.log).
        nginx = [NGINX_BIN, "-c", str(self.confdir / "nginx.conf"), "-p", f"{self.base}/"]
        started = run_server_command([*nginx, "-e", str(self.error_log)], server_env())
        if started.returncode != 0 or not wait_listening(self.port, timeout=15):
            raise RuntimeError(f"nginx did not start: {started.stdout}{started.stderr}")

    def stop(self) -> None:
        """Both masters and their workers (SIGTERM, then SIGKILL after 15 s)."""
        for pid in (self.nginx_pid, self.fpm.pid):
            if pid is not None:
                terminate(pid)
