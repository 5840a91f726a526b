"""php-fpm's configuration: the master's global settings and its pools.

php-fpm's INI-style files are read as php-fpm reads them: `include=` globs (relative to its
prefix, /usr on Debian) followed in sorted order, `$pool` expanded, quotes dropped. Bounded
as the Apache reader is (a hostile or mistaken `include=/*` must cost a message, not a hang
or gigabytes): at most MAX_FILES files, MAX_DEPTH levels of include (a cycle is reported),
files of at most 8 MiB opened non-blocking (/proc/kmsg, a FIFO), binary files skipped. Of each
pool: `listen` (with file:line), `user`, `catch_workers_output`, its PHP logging settings
(`php_admin_value[error_log]`, `php_value[log_errors]`, flags too), and on request every
php_value of the pool (opcache's, for deploy). The global section's settings (error_log,
process_control_timeout) come as a dict. Read-only.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from premortem.readers.apache import read_text_bounded
from premortem.readers.files import LOCAL_FILES, ConfigFiles
from premortem.readers.phpini import LOG_SETTINGS, unquote

PHP_DIRECTIVE_RE = re.compile(r"^php(?:_admin)?_(?:value|flag)\[(?P<name>[^\]]+)\]$")
MAX_FILES = 200
MAX_DEPTH = 16
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
    path: str, problems: list[str] | None = None, files: ConfigFiles = LOCAL_FILES
) -> tuple[dict[str, str], list[PhpFpmPool]]:
    """php-fpm's INI-style config, `include=` globs followed: ([global] settings, pools)."""
    global_settings: dict[str, str] = {}
    pools: dict[str, PhpFpmPool] = {}
    problems = problems if problems is not None else []
    for entry in fpm_entries(path, problems, files):
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


def pool_php_values(path: str, pool_name: str, files: ConfigFiles = LOCAL_FILES) -> dict[str, str]:
    """Every php_value/php_admin_value (and flag) of one pool, by PHP setting name."""
    values: dict[str, str] = {}
    for entry in fpm_entries(path, [], files):
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


def fpm_entries(path: str, problems: list[str], files: ConfigFiles = LOCAL_FILES) -> list[FpmEntry]:
    """The config's entries in php-fpm's order, `include=` globs followed (at most
    MAX_FILES files; `$pool` expanded)."""
    entries: list[FpmEntry] = []
    files_read = [0]
    reading: list[str] = []

    def read(file: str, section: str) -> str:
        problem = _may_not_read(file, reading, files_read[0], files)
        if problem:
            problems.append(problem)
            return section
        files_read[0] += 1
        try:
            text = read_text_bounded(file, files=files)
        except OSError as exc:
            problems.append(f"cannot read {file}: {exc.strerror}")
            return section
        if "\0" in text:  # a binary file an include= glob matched
            problems.append(f"{file} holds NUL bytes: not a php-fpm config file, not read")
            return section
        reading.append(file)
        try:
            return read_lines(file, text, section)
        finally:
            reading.pop()

    def read_lines(file: str, text: str, section: str) -> str:
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
                for match in files.glob(os.path.join(FPM_PREFIX, value)):
                    if files_read[0] >= MAX_FILES:
                        problems.append(
                            f"{file}:{number}: include={value} matches more than the "
                            f"{MAX_FILES} files read: the rest not read"
                        )
                        break
                    section = read(match, section)  # an absolute value stays absolute
                continue
            entries.append(FpmEntry(file, number, section, key, value))
        return section

    read(path, "global")
    return entries


def _may_not_read(file: str, reading: list[str], files_read: int, files: ConfigFiles) -> str:
    """Why `file` is not read (a cycle, too deep, too many files), or ""."""
    if file in reading:
        return "include= cycle: " + " -> ".join([*reading, file])
    if len(reading) >= MAX_DEPTH:
        return f"{file}: include= nesting deeper than {MAX_DEPTH}: not read"
    if files_read >= MAX_FILES:
        return f"{file}: more than {MAX_FILES} php-fpm config files: not read"
    if files.is_dir(file):
        return f"{file} is a directory: not read"
    return ""


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
