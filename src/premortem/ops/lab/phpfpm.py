"""The lab's own php-fpm (nginx flavour): master config, pool, start, stop, graceful reload.

It never touches the system's php8.2-fpm service: it runs
`/usr/sbin/php-fpm8.2 -y <lab>/php-fpm/php-fpm.conf -c /etc/php/8.2/fpm/php.ini` with its own
PID file, log and a pool of www-data workers on a unix socket under the lab dir. The pool
file carries the site's PHP settings (php_admin_*), which scenarios rewrite.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

from premortem.errors import PremortemError
from premortem.ops.lab.layout import LabPaths
from premortem.ops.lab.procs import (
    LabDaemon,
    run_server_command,
    server_env,
    signaller,
    wait_for,
)

FPM_BIN = "/usr/sbin/php-fpm8.2"
# Read only: Debian's php.ini for the FPM SAPI (extensions come from its conf.d).
FPM_PHP_INI = "/etc/php/8.2/fpm/php.ini"
FPM_NAMES = ("php-fpm8.2", "php-fpm")
DAEMON = LabDaemon("php-fpm", lambda paths: paths.fpm_pid, FPM_NAMES)


def render_fpm_conf(paths: LabPaths) -> str:
    return f"""; Written by `premortem lab up`: the lab's own php-fpm, independent of /etc/php.
[global]
pid = {paths.fpm_pid}
error_log = {paths.fpm_log}
log_level = notice
daemonize = yes
include = {paths.fpm_pool_conf}
"""


def render_pool_conf(paths: LabPaths, *, log_errors: bool = True) -> str:
    flag = "on" if log_errors else "off"
    return f"""; The lab site's pool and PHP settings (php_admin_*: the site cannot override them).
[www]
user = www-data
group = www-data
listen = {paths.fpm_socket}
listen.owner = www-data
listen.group = www-data
listen.mode = 0660
; Few workers, so that strace can attach to all of them quickly.
pm = dynamic
pm.max_children = 8
pm.start_servers = 2
pm.min_spare_servers = 1
pm.max_spare_servers = 3
; The workers' stdout/stderr reach php-fpm's own log.
catch_workers_output = yes
php_admin_flag[log_errors] = {flag}
php_admin_flag[display_errors] = off
php_admin_value[error_log] = {paths.php_error_log}
; Opcache on (php.ini's opcache.enable = 1; a pool can only switch it off), as production
; runs it, and still showing an injected fault at once: render_php_site_conf in apache.py
; says why each setting.
php_admin_flag[opcache.validate_timestamps] = on
php_admin_value[opcache.revalidate_freq] = 0
php_admin_flag[opcache.validate_permission] = on
php_admin_flag[opcache.revalidate_path] = on
php_admin_value[opcache.file_update_protection] = 2
"""


def make_dirs(paths: LabPaths) -> None:
    for d in (paths.fpm_dir, paths.fpm_run):
        d.mkdir(parents=True, exist_ok=True)
        # nginx's www-data workers reach the socket through run/.
        os.chmod(d, 0o755)
    for log in (paths.fpm_log, paths.php_error_log):
        log.touch(exist_ok=True)
    # PHP's workers (www-data) append to PHP's error log themselves.
    shutil.chown(paths.php_error_log, "www-data", "www-data")
    os.chmod(paths.php_error_log, 0o644)


def _run(paths: LabPaths, *args: str) -> subprocess.CompletedProcess[str]:
    return run_server_command(
        [FPM_BIN, "-y", str(paths.fpm_conf), "-c", FPM_PHP_INI, *args],
        server_env(),
        # Its own session: a Ctrl-C in the terminal that ran `lab up` must not reach it.
        new_session=True,
    )


def config_test(paths: LabPaths) -> None:
    proc = _run(paths, "-t")
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise PremortemError(f"the lab's php-fpm config does not parse:\n{detail}")


def _wait_ready(paths: LabPaths, timeout: float) -> int | None:
    def ready() -> int | None:
        started = DAEMON.pid(paths)
        if started is not None and paths.fpm_socket.exists() and DAEMON.worker_pids(paths):
            return started
        return None

    return wait_for(ready, timeout)


def start(paths: LabPaths) -> int:
    """Start the lab's php-fpm; return the master's PID once its socket is there."""
    return DAEMON.start(
        paths,
        prepare=lambda: make_dirs(paths),
        launch=lambda: _run(paths),
        ready=lambda: _wait_ready(paths, 10),
        not_ready=f"the lab's php-fpm did not come up; see {paths.fpm_log}",
    )


def reload(paths: LabPaths, timeout: float = 15.0) -> None:
    """Graceful reload (SIGUSR2): the master re-reads its config and replaces its workers.

    Returns once the old workers are gone and new ones wait on the socket, so the next
    request meets the new settings. A config that does not parse is refused first.
    """
    if not DAEMON.replace_workers(
        paths, config_test, signaller(signal.SIGUSR2), timeout, new_workers=False
    ):
        return
    if _wait_ready(paths, timeout) is None:
        raise PremortemError(
            f"the lab's php-fpm did not come back after a reload; see {paths.fpm_log}"
        )
