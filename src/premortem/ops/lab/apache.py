"""The lab's own Apache httpd (prefork + mod_php): config rendering, start, stop, restart.

It never reads or edits /etc/apache2 and never signals the system's Apache: it runs
`/usr/sbin/apache2 -f <lab>/apache/httpd.conf` with its own PidFile, mutexes and logs.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from premortem.errors import PremortemError
from premortem.ops.lab.layout import LabPaths
from premortem.ops.lab.procs import (
    LabDaemon,
    run_server_command,
    server_env,
)
from premortem.ops.lab.tls import LAB_NAME

APACHE_BIN = "/usr/sbin/apache2"
MODULES_DIR = "/usr/lib/apache2/modules"
# Modules as Debian's default site has them, minus what WordPress does not use (the MPM and
# PHP's come with the flavour, `ApachePhp`).
BASE_MODULES: tuple[tuple[str, str], ...] = (
    ("authn_core_module", "mod_authn_core.so"),
    ("authz_core_module", "mod_authz_core.so"),
    ("authz_host_module", "mod_authz_host.so"),
    ("access_compat_module", "mod_access_compat.so"),
    ("alias_module", "mod_alias.so"),
    ("dir_module", "mod_dir.so"),
    ("env_module", "mod_env.so"),
    ("headers_module", "mod_headers.so"),
    ("mime_module", "mod_mime.so"),
    ("rewrite_module", "mod_rewrite.so"),
    ("setenvif_module", "mod_setenvif.so"),
)
APACHE_NAMES = ("apache2", "httpd")
DAEMON = LabDaemon("Apache", lambda paths: paths.apache_pid, APACHE_NAMES)


def render_tls(paths: LabPaths) -> str:
    """mod_ssl for a TLS lab: the whole server speaks HTTPS with the lab's certificate."""
    return f"""
# HTTPS (`lab up --tls`): the lab's throwaway certificate, signed by its own CA.
LoadModule socache_shmcb_module {MODULES_DIR}/mod_socache_shmcb.so
LoadModule ssl_module {MODULES_DIR}/mod_ssl.so
SSLSessionCache "shmcb:{paths.apache_run}/ssl_scache(512000)"
SSLEngine on
SSLCertificateFile "{paths.tls_cert}"
SSLCertificateKeyFile "{paths.tls_key}"
SSLCertificateChainFile "{paths.tls_chain}"
"""


@dataclass(frozen=True)
class ApachePhp:
    """How the lab's Apache runs PHP: its MPM and PHP modules, the MPM's settings and the
    lines that hand .php files to PHP (mod_php here; php-fpm in apache_fpm.py), where
    `{paths.NAME}` names a path of the lab (LabPaths)."""

    modules: tuple[tuple[str, str], ...]
    mpm: str
    handler: str


MOD_PHP = ApachePhp(
    modules=(("mpm_prefork_module", "mod_mpm_prefork.so"), ("php_module", "libphp8.2.so")),
    mpm="""# Small prefork pool: few enough workers that strace can attach to all of them quickly.
<IfModule mpm_prefork_module>
    StartServers 2
    MinSpareServers 2
    MaxSpareServers 4
    MaxRequestWorkers 16
    MaxConnectionsPerChild 0
</IfModule>""",
    handler="""<IfModule php_module>
    <FilesMatch ".+\\.ph(?:ar|p|tml)$">
        SetHandler application/x-httpd-php
    </FilesMatch>
    <FilesMatch ".+\\.phps$">
        Require all denied
    </FilesMatch>
</IfModule>

Include "{paths.php_site_conf}\"""",
)


def render_httpd_conf(
    paths: LabPaths,
    port: int,
    php: ApachePhp = MOD_PHP,
    tls: bool = False,
    address: str = "127.0.0.1",
) -> str:
    modules = (php.modules[0], *BASE_MODULES, *php.modules[1:])
    loads = "\n".join(f"LoadModule {name} {MODULES_DIR}/{so}" for name, so in modules)
    name = LAB_NAME if tls else address
    return f"""# Written by `premortem lab up`: the lab's own Apache, independent of /etc/apache2.
ServerRoot "{paths.apache_dir}"
ServerName {name}
Listen {address}:{port}
PidFile "{paths.apache_pid}"
DefaultRuntimeDir "{paths.apache_run}"
Mutex file:{paths.apache_run} default
User www-data
Group www-data

{loads}
{render_tls(paths) if tls else ""}
{php.mpm}

Timeout 60
KeepAlive On
HostnameLookups Off
TypesConfig /etc/mime.types
AddDefaultCharset UTF-8

ErrorLog "{paths.error_log}"
LogLevel warn
LogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{{Referer}}i\\" \\"%{{User-Agent}}i\\"" combined
CustomLog "{paths.access_log}" combined

<Directory />
    Options FollowSymLinks
    AllowOverride None
    Require all denied
</Directory>

DocumentRoot "{paths.current}"
<Directory "{paths.site}">
    Options FollowSymLinks
    AllowOverride All
    Require all granted
</Directory>
DirectoryIndex index.php index.html

<FilesMatch "^\\.ht">
    Require all denied
</FilesMatch>

{php.handler.format(paths=paths)}
"""


def render_php_site_conf(*, log_errors: bool = True) -> str:
    flag = "on" if log_errors else "off"
    return f"""# PHP settings of the lab site (php_admin_*: .htaccess cannot override them).
# error_log is left unset so PHP's errors go to Apache's ErrorLog.
<IfModule php_module>
    php_admin_flag log_errors {flag}
    php_admin_flag display_errors off
    # Opcache on (php.ini's opcache.enable = 1: set at runtime, "on" only warns), as
    # production runs it, and still showing an injected fault at once:
    # revalidate_freq 0 stats every script on every request (an edit, a deleted include);
    # validate_permission: a script the worker cannot read is not served from the cache
    # (a chmod, an untraversable directory); revalidate_path: scripts are keyed by their
    # resolved path, so after a `current` switch a same-named file of another release is
    # never taken for the cached one (hard-linked releases share mtimes);
    # file_update_protection 2: a file changed in the last 2 s is compiled but not cached,
    # so a second same-second edit (mtime in whole seconds) is not hidden.
    php_admin_flag opcache.validate_timestamps on
    php_admin_value opcache.revalidate_freq 0
    php_admin_flag opcache.validate_permission on
    php_admin_flag opcache.revalidate_path on
    php_admin_value opcache.file_update_protection 2
</IfModule>
"""


SYSTEM_PHP_CONF_D = Path("/etc/php/8.2/apache2/conf.d")


def sync_php_conf_d(paths: LabPaths) -> None:
    """Mirror the system's mod_php extension list (links to its .ini files) for the lab.

    mod_php reads PHP_INI_SCAN_DIR at startup, so the lab can disable an extension for its
    own Apache (the missing-extension fault) without touching /etc/php.
    """
    paths.php_conf_d.mkdir(parents=True, exist_ok=True)
    wanted = {ini.name: os.path.realpath(ini) for ini in SYSTEM_PHP_CONF_D.glob("*.ini")}
    for link in paths.php_conf_d.iterdir():
        if link.name not in wanted or os.path.realpath(link) != wanted[link.name]:
            link.unlink()
    for name, target in wanted.items():
        if not (paths.php_conf_d / name).is_symlink():
            os.symlink(target, paths.php_conf_d / name)


def _run(
    paths: LabPaths, *args: str, nofile: int | None = None
) -> subprocess.CompletedProcess[str]:
    env = server_env()
    if paths.php_conf_d.is_dir():
        env["PHP_INI_SCAN_DIR"] = str(paths.php_conf_d)
    limit = [] if nofile is None else ["prlimit", f"--nofile={nofile}:{nofile}"]
    return run_server_command([*limit, APACHE_BIN, "-f", str(paths.httpd_conf), *args], env)


def config_test(paths: LabPaths) -> None:
    proc = _run(paths, "-t")
    if proc.returncode != 0:
        raise PremortemError(f"the lab's Apache config does not parse:\n{proc.stderr.strip()}")


def start(paths: LabPaths, nofile: int | None = None) -> int:
    """Start the lab's Apache; return the parent's PID. Clear message when it cannot.

    nofile: the open-file limit (RLIMIT_NOFILE) for Apache and its workers, when set.
    """
    # `-k start` returns once the parent has daemonised; its PID file follows shortly.
    return DAEMON.start(
        paths,
        prepare=lambda: paths.apache_run.mkdir(parents=True, exist_ok=True),
        launch=lambda: _run(paths, "-k", "start", nofile=nofile),
        not_ready=(
            f"the lab's Apache did not write its PID file {paths.apache_pid}; see {paths.error_log}"
        ),
    )


def graceful(paths: LabPaths, timeout: float = 15.0) -> None:
    """Re-read the config without closing the listening socket (`-k graceful`).

    Returns once the old workers are gone and new ones run, so the next request meets the
    new config.
    A config that does not parse is refused first (a graceful restart would kill Apache).
    """

    def restart(_parent: int) -> None:
        proc = _run(paths, "-k", "graceful")
        if proc.returncode != 0:
            raise PremortemError(f"restarting the lab's Apache failed:\n{proc.stderr.strip()}")

    DAEMON.replace_workers(paths, config_test, restart, timeout, "a graceful restart")
