"""PHP's logging settings from php.ini: log_errors, display_errors, error_log, error_reporting.

Later files win, as PHP reads its scan directory (``conf.d/*.ini`` after ``php.ini``);
unreadable files are skipped. Each SAPI has its own files: ``/etc/php/<v>/apache2/`` for
mod_php, ``/etc/php/<v>/fpm/`` for php-fpm. Read-only.
"""

from __future__ import annotations

import glob
import os
import re

from premortem.readers.files import LOCAL_FILES, ConfigFiles

LOG_SETTINGS = ("log_errors", "display_errors", "error_log", "error_reporting")
_LOGGING_SETTING_RE = re.compile(
    r"^\s*(log_errors|display_errors|error_log|error_reporting)\s*=\s*(.*?)\s*$", re.MULTILINE
)


def unquote(value: str) -> str:
    """A value without the quotes around it ("x" or 'x')."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


MAX_INI_BYTES = 8 * 1024 * 1024


def ini_logging_settings(inis: list[str], files: ConfigFiles | None = None) -> dict[str, str]:
    """The logging settings as the php.ini files `inis` set them, later files winning.
    `files`: where they are read (None: this machine). A FIFO, device or directory is
    skipped unopened."""
    settings: dict[str, str] = {}
    for ini in inis:
        try:
            text = (files or LOCAL_FILES).read_text(ini, MAX_INI_BYTES)
        except (OSError, ValueError):
            continue
        for match in _LOGGING_SETTING_RE.finditer(text):
            settings[match.group(1)] = unquote(match.group(2))
    return settings


def mod_php_inis(files: ConfigFiles | None = None) -> list[str]:
    """The php.ini files of Apache's mod_php (every installed version's)."""
    find = files.glob if files is not None else glob.glob
    return sorted(find("/etc/php/*/apache2/php.ini")) + sorted(
        find("/etc/php/*/apache2/conf.d/*.ini")
    )


def fpm_inis(fpm_config: str, files: ConfigFiles | None = None) -> list[str]:
    """The php.ini files of the FPM SAPI that runs with `fpm_config`: the same PHP
    version's, or (a config elsewhere: a lab, a custom layout) the newest installed."""
    glob_ = files.glob if files is not None else glob.glob
    version = re.search(r"/etc/php/([0-9.]+)/", fpm_config)
    if version:
        base = f"/etc/php/{version.group(1)}/fpm"
        return [f"{base}/php.ini", *sorted(glob_(f"{base}/conf.d/*.ini"))]
    inis = sorted(glob_("/etc/php/*/fpm/php.ini"))[-1:]
    if inis:
        inis += sorted(glob_(os.path.join(os.path.dirname(inis[0]), "conf.d/*.ini")))
    return inis
