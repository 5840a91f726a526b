"""Helpers shared by analyzers: locating the site root, relative paths, file facts.

Analyzers read no file: what they know of files is what collectors/files.py saw (the
`files` of the evidence).
"""

from __future__ import annotations

import posixpath

from premortem.collectors import EvidenceSet
from premortem.collectors.logs import ErrorLine, PhpMessage
from premortem.host import first_blocking, path_chain
from premortem.model import FileStat, Quote


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
    bases = [root]
    if evidence.files is not None and evidence.files.docroot_real:
        bases.append(evidence.files.docroot_real)
    for base in dict.fromkeys(bases):
        try:
            rel = posixpath.relpath(path, base)
        except ValueError:
            continue
        if not rel.startswith(".."):
            return rel
    return path


def real_path(path: str, evidence: EvidenceSet) -> str:
    """The realpath the file collector saw for `path` (`path` itself when not looked at)."""
    return evidence.files.real(path) if evidence.files is not None else path


def file_stat(path: str, evidence: EvidenceSet) -> FileStat | None:
    """What the file collector saw of `path` (None: not looked at)."""
    return evidence.files.lookup(path) if evidence.files is not None else None


def exists(path: str, evidence: EvidenceSet) -> bool | None:
    """Whether `path` exists (following links); None when the collector did not look."""
    found = file_stat(path, evidence)
    return found.exists if found is not None else None


def describe_mode(path: str, evidence: EvidenceSet) -> str:
    """`PATH is -rw------- root:root` as the file collector saw it."""
    found = file_stat(path, evidence)
    return found.describe() if found is not None else f"{path}: not examined"


def blocking_component(path: str, evidence: EvidenceSet) -> tuple[str, str] | None:
    """The first directory the web user cannot search, or the file it cannot read:
    (path, need), from the modes and owners the file collector saw. A directory it did
    not look at is taken as searchable."""
    files = evidence.files
    if files is None or files.web_user is None or path not in files.paths:
        return None
    chain = [files.paths[step] for step in path_chain(path) if step in files.paths]
    return first_blocking(chain, files.web_user)


def wp_config_value(evidence: EvidenceSet, name: str) -> str | None:
    """A (non-secret) constant of the site's wp-config.php, e.g. DB_HOST; None if unknown."""
    configs = evidence.files.wp_configs if evidence.files is not None else []
    found = (c.defines[name].value for c in configs if name in c.defines)
    return next(found, None)


def wp_config_define_line(evidence: EvidenceSet, name: str) -> tuple[str, int] | None:
    """(file relative to the docroot, line) of ``define('NAME', ...)`` in wp-config.php.

    Only the place: the value (a password, for DB_PASSWORD) is never read out.
    """
    for config in evidence.files.wp_configs if evidence.files is not None else []:
        if name in config.defines:
            return relative(config.path, evidence), config.defines[name].line
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
