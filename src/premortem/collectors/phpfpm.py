"""The php-fpm collector: the pool that runs the site's PHP behind nginx, and what it logs.

nginx hands ``.php`` requests to a FastCGI address (``fastcgi_pass``, through an ``upstream``
block or not). This collector finds the php-fpm pool listening there:

- the running php-fpm masters (their process title says which config they started with:
  ``php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)``; a config given by the site
  config, or Debian's ``/etc/php/*/fpm/php-fpm.conf``, when none runs);
- each master config followed through its ``include=`` globs into the pool sections, whose
  ``listen`` is compared with the FastCGI address;
- the pool's PHP settings that decide what gets logged: ``php_admin_value[error_log]``,
  ``php_value[error_log]``, ``log_errors``, ``display_errors`` (flags too), defaults from
  the FPM SAPI's php.ini, and ``catch_workers_output`` (workers' stderr into php-fpm's own
  ``error_log``);
- whether the master runs, its worker pids (zombies left out) and whether the socket exists.

Read-only: it never signals a process.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from premortem.host import Host
from premortem.readers.phpini import LOG_SETTINGS, fpm_inis, ini_logging_settings, unquote

PHP_FPM_NAME_RE = re.compile(r"^php-fpm")
MASTER_TITLE_RE = re.compile(r"master process \((?P<config>[^)]+)\)")
_PHP_DIRECTIVE_RE = re.compile(r"^php(?:_admin)?_(?:value|flag)\[(?P<name>[^\]]+)\]$")
MAX_FILES = 200
# php-fpm resolves relative include= and error_log paths against its prefix: /usr on Debian.
FPM_PREFIX = "/usr"


@dataclass
class PhpFpmPool:
    """One ``[name]`` section of a php-fpm config."""

    name: str
    file: str
    line: int
    listen: str = ""
    # Where the listen directive is ("file:line").
    listen_at: str = ""
    user: str = ""
    catch_workers_output: bool = False
    # log_errors / display_errors / error_log / error_reporting as the pool's workers see them.
    php_settings: dict[str, str] = field(default_factory=dict)


@dataclass
class PhpFpmEvidence:
    """The php-fpm side of an nginx site: its pool, its master, its logs."""

    # What nginx passes PHP requests to: "unix:/run/php/php8.2-fpm.sock" or "127.0.0.1:9000".
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
    socket = _unix_path(fastcgi_address)
    if socket:
        evidence.socket_exists = os.path.exists(socket)
    masters = running_masters(host)
    candidates: list[tuple[str, int | None]] = [(conf, pid) for pid, conf in masters]
    if config_file:
        candidates.append((config_file, None))
    candidates += [(c, None) for c in sorted(glob.glob("/etc/php/*/fpm/php-fpm.conf"))]
    seen: set[str] = set()
    for conf, pid in candidates:
        if not conf or conf in seen:
            continue
        seen.add(conf)
        global_settings, pools = read_fpm_config(conf, evidence.problems)
        pool = next((p for p in pools if same_address(p.listen, fastcgi_address)), None)
        if pool is None:
            continue
        evidence.config_file = conf
        evidence.error_log = _fpm_error_log(global_settings, conf)
        evidence.pool = pool
        pool.php_settings = {**_php_ini_settings(conf), **pool.php_settings}
        running = pid if pid is not None else _master_running_with(masters, conf)
        if running is not None:
            evidence.master_pid = running
            evidence.running = True
            evidence.worker_pids = sorted(p.pid for p in host.descendants(running))
        break
    else:
        if not fastcgi_address:
            evidence.problems.append("nginx passes no request to FastCGI (no fastcgi_pass)")
        else:
            evidence.problems.append(f"no php-fpm pool config listens on {fastcgi_address}")
    return evidence


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


def read_fpm_config(
    path: str, problems: list[str] | None = None
) -> tuple[dict[str, str], list[PhpFpmPool]]:
    """php-fpm's INI-style config, `include=` globs followed: ([global] settings, pools)."""
    global_settings: dict[str, str] = {}
    pools: dict[str, PhpFpmPool] = {}
    problems = problems if problems is not None else []
    files_read = [0]

    def read(file: str, section: str) -> str:
        if files_read[0] >= MAX_FILES:
            return section
        files_read[0] += 1
        try:
            text = Path(file).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            problems.append(f"cannot read {file}: {exc.strerror}")
            return section
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith((";", "#")):
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1].strip()
                if section != "global" and section not in pools:
                    pools[section] = PhpFpmPool(section, file, number)
                continue
            key, sep, value = line.partition("=")
            if not sep:
                continue
            key, value = key.strip(), unquote(value.strip())
            value = value.replace("$pool", section)
            if key == "include":
                pattern = os.path.join(FPM_PREFIX, value)  # an absolute value stays
                for match in sorted(glob.glob(pattern)):
                    section = read(match, section)
                continue
            if section == "global":
                global_settings[key] = value
                continue
            pool = pools.get(section)
            if pool is None:
                continue
            if key == "listen":
                pool.listen, pool.listen_at = value, f"{file}:{number}"
            elif key == "user":
                pool.user = value
            elif key == "catch_workers_output":
                pool.catch_workers_output = _is_on(value)
            else:
                php = _PHP_DIRECTIVE_RE.match(key)
                if php and php.group("name") in LOG_SETTINGS:
                    pool.php_settings[php.group("name")] = value
        return section

    read(path, "global")
    return global_settings, list(pools.values())


def same_address(listen: str, fastcgi: str) -> bool:
    """Whether a pool's ``listen`` is the address nginx's ``fastcgi_pass`` names."""
    if not listen or not fastcgi:
        return False
    socket = _unix_path(fastcgi)
    if socket:
        return os.path.normpath(listen) == os.path.normpath(socket)
    pool_host, _, pool_port = listen.rpartition(":")
    host, _, port = fastcgi.rpartition(":")
    if pool_port != port:
        return False
    wildcard = ("", "*", "0.0.0.0", "[::]")
    return (
        pool_host in wildcard
        or host in wildcard
        or pool_host == host
        or ({pool_host, host} <= {"127.0.0.1", "localhost"})
    )


def _unix_path(address: str) -> str:
    return address[len("unix:") :] if address.startswith("unix:") else ""


def _is_on(value: str) -> bool:
    return value.lower() in ("yes", "on", "true", "1")


def _fpm_error_log(global_settings: dict[str, str], conf: str) -> str:
    value = global_settings.get("error_log", "")
    if not value or value == "syslog":
        return ""
    if os.path.isabs(value):
        return value
    return os.path.join(FPM_PREFIX, value)


def _php_ini_settings(conf: str) -> dict[str, str]:
    """log_errors / display_errors / error_log from the FPM SAPI's php.ini beside `conf`."""
    return ini_logging_settings(fpm_inis(conf))


def _master_running_with(masters: list[tuple[int, str]], conf: str) -> int | None:
    real = os.path.realpath(conf)
    return next((pid for pid, c in masters if os.path.realpath(c) == real), None)
