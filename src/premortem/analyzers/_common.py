"""Helpers shared by analyzers: locating the site root, relative paths, stat facts."""

from __future__ import annotations

import grp
import os
import pwd
import stat
from pathlib import Path

from premortem.collectors import EvidenceSet
from premortem.collectors.logs import ErrorLine, PhpMessage
from premortem.model import Quote
from premortem.readers.wpconfig import loaded_wp_configs


def site_root(evidence: EvidenceSet) -> str | None:
    if evidence.docroot:
        return evidence.docroot
    if evidence.server and evidence.server.docroot:
        return evidence.server.docroot
    return None


def relative(path: str, evidence: EvidenceSet) -> str:
    """`path` relative to the docroot (also through the `current` symlink), else as is."""
    root = site_root(evidence)
    if not root:
        return path
    try:
        bases = {root, os.path.realpath(root)}
    except ValueError:  # a NUL byte in the docroot: it cannot be resolved
        bases = {root}
    for base in bases:
        try:
            rel = os.path.relpath(path, base)
        except ValueError:
            continue
        if not rel.startswith(".."):
            return rel
    return path


def real_path(path: str) -> str:
    """os.path.realpath(), or `path` itself when it holds a NUL byte (a path read from a
    config file may; realpath() raises ValueError on it, and it names no file)."""
    return path if "\0" in path else os.path.realpath(path)


def describe_mode(path: str) -> str:
    try:
        info = os.stat(path)
    except OSError as exc:
        return f"{path}: {exc.strerror}"
    except ValueError:  # a NUL byte: no file has that name
        return f"{path}: no such file"
    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        owner = str(info.st_uid)
    try:
        group = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        group = str(info.st_gid)
    return f"{path} is {stat.filemode(info.st_mode)} {owner}:{group}"


def blocking_component(path: str, user: str) -> tuple[str, str] | None:
    """The first directory the user cannot search, or the file it cannot read: (path, need)."""
    try:
        entry = pwd.getpwnam(user)
    except (KeyError, ValueError):  # ValueError: a user name holding a NUL byte
        return None
    groups = {g.gr_gid for g in grp.getgrall() if user in g.gr_mem} | {entry.pw_gid}
    target = Path(path)
    for directory in [*reversed(target.parents), target]:
        try:
            info = directory.stat()
        except (OSError, ValueError):  # ValueError: a NUL byte in the path
            return None
        is_dir = stat.S_ISDIR(info.st_mode)
        if directory != target and not is_dir:
            return None
        if info.st_uid == entry.pw_uid:
            bits = stat.S_IXUSR if is_dir else stat.S_IRUSR
        elif info.st_gid in groups:
            bits = stat.S_IXGRP if is_dir else stat.S_IRGRP
        else:
            bits = stat.S_IXOTH if is_dir else stat.S_IROTH
        if not info.st_mode & bits:
            return str(directory), "x" if is_dir else "r"
    return None


def wp_config_value(evidence: EvidenceSet, name: str) -> str | None:
    """A (non-secret) constant of the site's wp-config.php, e.g. DB_HOST; None if unknown."""
    root = site_root(evidence)
    found = (c.value(name) for c in (loaded_wp_configs(root) if root else []))
    return next((value for value in found if value is not None), None)


def wp_config_define_line(evidence: EvidenceSet, name: str) -> tuple[str, int] | None:
    """(file relative to the docroot, line) of ``define('NAME', ...)`` in wp-config.php.

    Only the place: the value (a password, for DB_PASSWORD) is never read out.
    """
    root = site_root(evidence)
    for config in loaded_wp_configs(root) if root else []:
        if name in config.defines:
            return relative(str(config.path), evidence), config.defines[name].line
    return None


def lab_start_command(evidence: EvidenceSet) -> str | None:
    """The site config's `start_command` (a premortem lab's `premortem lab up --dir DIR`):
    the command that starts it all; None when the site does not say."""
    return evidence.site.start_command if evidence.site and evidence.site.start_command else None


def log_quote(raw: str, limit: int = 500) -> Quote:
    """An error-log line as evidence: PHP's stack trace (after a literal \\n) cut off."""
    first = raw.split("\\n", 1)[0]
    return Quote("log", first if len(first) <= limit else first[: limit - 1] + "…")


def request_php_messages(evidence: EvidenceSet) -> list[tuple[PhpMessage, Quote]]:
    """PHP messages of the replayed request with their quote: from the log and the page."""
    found: list[tuple[PhpMessage, Quote]] = []
    if evidence.logs is not None:
        found += [(m, log_quote(m.raw)) for m in evidence.logs.php if m.this_request]
    if evidence.http is not None:
        found += [
            (m, Quote("http", f"page shows {m.raw[:400]}")) for m in evidence.http.php_messages
        ]
    return found


def failed_calls(evidence: EvidenceSet, errnos: tuple[str, ...]) -> list[Quote]:
    """The traced request's failed syscalls (the causes, not probes) with one of `errnos`."""
    if evidence.trace is None:
        return []
    return [Quote("trace", f.call.text) for f in evidence.trace.causes if f.call.errno in errnos]


def first_logged(evidence: EvidenceSet, *texts: str) -> list[Quote]:
    """The request's first error-log line that says one of `texts`, as a quote (or none)."""
    if evidence.logs is None:
        return []
    for line in evidence.logs.request_lines():
        if any(text in line.message for text in texts):
            return [log_quote(line.raw)]
    return []


def fresh_log_lines(evidence: EvidenceSet) -> list[ErrorLine]:
    """Error-log lines of the incident's window: the only ones to quote as a cause."""
    return evidence.logs.fresh_lines() if evidence.logs is not None else []


def fresh_logged(evidence: EvidenceSet, *texts: str) -> tuple[list[Quote], int]:
    """The first line of the incident's window that says one of `texts`, as a quote, and
    how many such lines there are."""
    found = [line for line in fresh_log_lines(evidence) if any(t in line.message for t in texts)]
    return ([log_quote(found[0].raw)] if found else []), len(found)
