"""Debian's php8.2-fpm as users have it, run as a private instance: /etc/php/8.2/fpm
(php-fpm.conf, php.ini, pool.d/www.conf) copied, with only its `pid`, `error_log`, `include`
and the www pool's `listen` moved into the copy. Started as `/usr/sbin/php-fpm8.2 -y
COPY/php-fpm.conf -c COPY/php.ini`, so its master looks like the system's; the system's
own php8.2-fpm (if any) is never touched.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from config_copy import copy_config_tree
from premortem.ops.lab.phpfpm import FPM_BIN, FPM_NAMES
from premortem.ops.lab.procs import run_server_command, running_pid, server_env, terminate, wait_for


def rewrite(path: Path, replacements: dict[str, str]) -> None:
    """Replace each key of `replacements` in the file; each must be there (a Debian file
    that changed should fail here, not start a server on the system's paths)."""
    text = path.read_text()
    for old, new in replacements.items():
        assert old in text, f"{path}: {old!r} not found"
        text = text.replace(old, new)
    path.write_text(text)


class DebianPhpFpm:
    """A private php-fpm in Debian's layout under `fpm_dir`, its socket and pid in
    `run_dir`, its log in `log_dir`."""

    def __init__(self, fpm_dir: Path, run_dir: Path, log_dir: Path) -> None:
        self.fpm_dir, self.run_dir, self.log_dir = fpm_dir, run_dir, log_dir

    @property
    def config(self) -> Path:
        return self.fpm_dir / "php-fpm.conf"

    @property
    def socket(self) -> Path:
        return self.run_dir / "php8.2-fpm.sock"

    @property
    def pid(self) -> int | None:
        return running_pid(self.run_dir / "php8.2-fpm.pid", FPM_NAMES)

    def build(self) -> None:
        copy_config_tree("/etc/php/8.2/fpm", self.fpm_dir)
        rewrite(
            self.config,
            {
                "pid = /run/php/php8.2-fpm.pid": f"pid = {self.run_dir}/php8.2-fpm.pid",
                "error_log = /var/log/php8.2-fpm.log": f"error_log = {self.log_dir}/php8.2-fpm.log",
                "include=/etc/php/8.2/fpm/pool.d/": f"include={self.fpm_dir}/pool.d/",
            },
        )
        rewrite(
            self.fpm_dir / "pool.d" / "www.conf",
            {"listen = /run/php/php8.2-fpm.sock": f"listen = {self.socket}"},
        )

    def start(self) -> None:
        command = [FPM_BIN, "-y", str(self.config), "-c", str(self.fpm_dir / "php.ini")]
        # Its own session: a Ctrl-C in the test's terminal must not reach the daemon.
        started = run_server_command(command, server_env(), new_session=True)
        if started.returncode != 0 or not wait_for(self.socket.exists, 10):
            raise RuntimeError(f"php-fpm did not start: {started.stdout}{started.stderr}")

    def set_global(self, name: str, value: str) -> None:
        """`name = value` in php-fpm.conf's [global] section, then a graceful reload
        (SIGUSR2), as an operator would."""
        text = self.config.read_text()
        assert "[global]\n" in text, self.config
        self.config.write_text(text.replace("[global]\n", f"[global]\n{name} = {value}\n", 1))
        pid = self.pid
        assert pid is not None, "php-fpm is not running"
        os.kill(pid, signal.SIGUSR2)
        # The master re-executes itself: wait until it answers on its socket again.
        assert wait_for(lambda: self.pid is not None and self.socket.exists(), 10)

    def stop(self) -> None:
        pid = self.pid
        if pid is not None:
            terminate(pid)
