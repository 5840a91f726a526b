"""The php-fpm collector: the pool that runs the site's PHP, and what it logs.

nginx hands ``.php`` requests to a FastCGI address (``fastcgi_pass``, through an ``upstream``
block or not), Apache to the one its proxy_fcgi handler names (``SetHandler
"proxy:unix:...|fcgi://localhost"``, ``ProxyPassMatch ... fcgi://HOST:PORT/...``). This
collector finds the php-fpm pool listening there:

- the running php-fpm masters (their process title says which config they started with:
  ``php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)``; a config given by the site
  config, or Debian's ``/etc/php/*/fpm/php-fpm.conf``, when none runs);
- each master config followed through its ``include=`` globs into the pool sections, whose
  ``listen`` is compared with the FastCGI address;
- the pool's PHP settings that decide what gets logged: ``php_admin_value[error_log]``,
  ``php_value[error_log]``, ``log_errors``, ``display_errors`` (flags too), defaults from
  the FPM SAPI's php.ini, and ``catch_workers_output`` (workers' stderr into php-fpm's own
  ``error_log``);
- whether the master runs, its worker pids (zombies left out) and whether the socket exists;
- the pools it read that listen elsewhere (`other_pools`): when none listens on the address,
  the one the server was probably meant to reach.

Read-only: it never signals a process.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from premortem.host import Host
from premortem.readers.files import ConfigFiles, HostFiles
from premortem.readers.phpfpm import (
    FPM_PREFIX,
    PhpFpmPool,
    read_fpm_config,
    same_address,
    unix_path,
)
from premortem.readers.phpini import fpm_inis, ini_logging_settings

PHP_FPM_NAME_RE = re.compile(r"^php-fpm")
MASTER_TITLE_RE = re.compile(r"master process \((?P<config>[^)]+)\)")


@dataclass
class OtherPool:
    """A pool that does not listen on the site's FastCGI address, and its master."""

    pool: PhpFpmPool
    config_file: str
    master_pid: int | None = None


@dataclass
class PhpFpmEvidence:
    """The php-fpm side of a site (nginx, or Apache's proxy_fcgi): its pool, master, logs."""

    # What the web server passes PHP requests to: "unix:/run/php/php8.2-fpm.sock" or
    # "127.0.0.1:9000".
    fastcgi_address: str = ""
    config_file: str = ""
    # php-fpm's own log (global error_log): start-up errors, workers' stderr.
    error_log: str = ""
    pool: PhpFpmPool | None = None
    master_pid: int | None = None
    worker_pids: list[int] = field(default_factory=list)
    running: bool = False
    socket_exists: bool | None = None
    problems: list[str] = field(default_factory=list)
    # Pools read (running masters' configs first) that listen on another address.
    other_pools: list[OtherPool] = field(default_factory=list)

    @property
    def php_error_log(self) -> str:
        """Where PHP's own messages go: the pool's error_log when it is a file path."""
        value = self.pool.php_settings.get("error_log", "") if self.pool else ""
        return value if os.path.isabs(value) else ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def collect_php_fpm(
    fastcgi_address: str, config_file: str | None = None, *, host: Host
) -> PhpFpmEvidence:
    """The pool serving `fastcgi_address` (``unix:PATH``, ``HOST:PORT`` or ``PORT``).

    `config_file`: the php-fpm master config the site uses (from the site config), read
    when no running master serves the address.
    """
    evidence = PhpFpmEvidence(fastcgi_address=fastcgi_address)
    socket = unix_path(fastcgi_address)
    if socket:
        evidence.socket_exists = host.exists(socket)
    masters = running_masters(host)
    candidates: list[tuple[str, int | None]] = [(conf, pid) for pid, conf in masters]
    if config_file:
        candidates.append((config_file, None))
    files = HostFiles(host)
    candidates += [(c, None) for c in files.glob("/etc/php/*/fpm/php-fpm.conf")]
    seen: set[str] = set()
    for conf, pid in candidates:
        if not conf or conf in seen:
            continue
        seen.add(conf)
        global_settings, pools = read_fpm_config(conf, evidence.problems, files)
        running = pid if pid is not None else _master_running_with(masters, conf, host)
        for pool in pools:
            if evidence.pool is None and same_address(pool.listen, fastcgi_address):
                _found_pool(evidence, conf, global_settings, pool, running, host)
            elif len(evidence.other_pools) < MAX_OTHER_POOLS:
                evidence.other_pools.append(OtherPool(pool, conf, running))
    if evidence.pool is None:
        if not fastcgi_address:
            evidence.problems.append("the web server passes no request to FastCGI")
        else:
            evidence.problems.append(f"no php-fpm pool config listens on {fastcgi_address}")
    return evidence


MAX_OTHER_POOLS = 20


def _found_pool(
    evidence: PhpFpmEvidence,
    conf: str,
    global_settings: dict[str, str],
    pool: PhpFpmPool,
    running: int | None,
    host: Host,
) -> None:
    evidence.config_file = conf
    evidence.error_log = _fpm_error_log(global_settings, conf)
    evidence.pool = pool
    pool.php_settings = {**_php_ini_settings(conf, HostFiles(host)), **pool.php_settings}
    if running is not None:
        evidence.master_pid = running
        evidence.running = True
        evidence.worker_pids = sorted(p.pid for p in host.descendants(running))


def running_masters(host: Host) -> list[tuple[int, str]]:
    """(pid, config file) of every running php-fpm master (zombies left out)."""
    found: list[tuple[int, str]] = []
    for proc in host.processes():
        if proc.zombie or not PHP_FPM_NAME_RE.match(proc.name):
            continue
        match = MASTER_TITLE_RE.search(" ".join(a for a in proc.cmdline if a))
        if match:
            found.append((proc.pid, match.group("config")))
    return sorted(found)


def _fpm_error_log(global_settings: dict[str, str], conf: str) -> str:
    value = global_settings.get("error_log", "")
    if not value or value == "syslog":
        return ""
    if os.path.isabs(value):
        return value
    return os.path.join(FPM_PREFIX, value)


def _php_ini_settings(conf: str, files: ConfigFiles) -> dict[str, str]:
    """log_errors / display_errors / error_log from the FPM SAPI's php.ini beside `conf`."""
    return ini_logging_settings(fpm_inis(conf, files), files)


def _master_running_with(masters: list[tuple[int, str]], conf: str, host: Host) -> int | None:
    real = host.realpath(conf)
    return next((pid for pid, c in masters if host.realpath(c) == real), None)
