"""php-fpm's configuration: the master's global settings and its pools.

php-fpm's INI-style files are read as php-fpm reads them: `include=` globs (relative to its
prefix, /usr on Debian) followed in sorted order, `$pool` expanded, quotes dropped. Of each
pool: `listen` (with file:line), `user`, `catch_workers_output`, its PHP logging settings
(`php_admin_value[error_log]`, `php_value[log_errors]`, flags too), and on request every
php_value of the pool (opcache's, for deploy). The global section's settings (error_log,
process_control_timeout) come as a dict. Read-only.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from premortem.readers.phpini import LOG_SETTINGS, unquote

PHP_DIRECTIVE_RE = re.compile(r"^php(?:_admin)?_(?:value|flag)\[(?P<name>[^\]]+)\]$")
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


def read_fpm_config(
    path: str, problems: list[str] | None = None
) -> tuple[dict[str, str], list[PhpFpmPool]]:
    """php-fpm's INI-style config, `include=` globs followed: ([global] settings, pools)."""
    global_settings: dict[str, str] = {}
    pools: dict[str, PhpFpmPool] = {}
    problems = problems if problems is not None else []
    for entry in fpm_entries(path, problems):
        if entry.key is None:
            if entry.section != "global":
                pools.setdefault(entry.section, PhpFpmPool(entry.section, entry.file, entry.line))
        elif entry.section == "global":
            global_settings[entry.key] = entry.value
        elif entry.section in pools:
            _set_pool_value(pools[entry.section], entry)
    return global_settings, list(pools.values())


def _set_pool_value(pool: PhpFpmPool, entry: FpmEntry) -> None:
    key, value = entry.key, entry.value
    if key == "listen":
        pool.listen, pool.listen_at = value, f"{entry.file}:{entry.line}"
    elif key == "user":
        pool.user = value
    elif key == "catch_workers_output":
        pool.catch_workers_output = _is_on(value)
    else:
        php = PHP_DIRECTIVE_RE.match(key or "")
        if php and php.group("name") in LOG_SETTINGS:
            pool.php_settings[php.group("name")] = value


def pool_php_values(path: str, pool_name: str) -> dict[str, str]:
    """Every php_value/php_admin_value (and flag) of one pool, by PHP setting name."""
    values: dict[str, str] = {}
    for entry in fpm_entries(path, []):
        php = PHP_DIRECTIVE_RE.match(entry.key or "")
        if entry.section == pool_name and php:
            values[php.group("name")] = entry.value
    return values


@dataclass(frozen=True)
class FpmEntry:
    """One line of a php-fpm config: a `key = value` (or, with key None, a section header)."""

    file: str
    line: int
    section: str
    key: str | None = None
    value: str = ""


def fpm_entries(path: str, problems: list[str]) -> list[FpmEntry]:
    """The config's entries in php-fpm's order, `include=` globs followed (at most
    MAX_FILES files; `$pool` expanded)."""
    entries: list[FpmEntry] = []
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
                entries.append(FpmEntry(file, number, section))
                continue
            key, sep, value = line.partition("=")
            if not sep:
                continue
            key, value = key.strip(), unquote(value.strip()).replace("$pool", section)
            if key == "include":
                for match in sorted(glob.glob(os.path.join(FPM_PREFIX, value))):
                    section = read(match, section)  # an absolute value stays absolute
                continue
            entries.append(FpmEntry(file, number, section, key, value))
        return section

    read(path, "global")
    return entries


def same_address(listen: str, fastcgi: str) -> bool:
    """Whether a pool's ``listen`` is the address nginx's ``fastcgi_pass`` names."""
    if not listen or not fastcgi:
        return False
    socket = unix_path(fastcgi)
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


def unix_path(address: str) -> str:
    return address[len("unix:") :] if address.startswith("unix:") else ""


def _is_on(value: str) -> bool:
    return value.lower() in ("yes", "on", "true", "1")
