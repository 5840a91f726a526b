"""The `permission-denied` analyzer of `premortem diagnose` (documented on its class)."""

from __future__ import annotations

import re

from premortem.analyzers._common import (
    blocking_component,
    describe_mode,
    exists,
    log_quote,
    relative,
)
from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
from premortem.model import Finding, Fix, Quote

_LOG_PATTERNS = (
    re.compile(r"AH00132: file permissions deny server access: (?P<path>\S+)"),
    re.compile(r"AH00035: access to \S+ denied \(filesystem path '(?P<path>[^']+)'\)"),
    re.compile(r"(?P<path>/\S+?/\.htaccess) pcfg_openfile: unable to check htaccess file"),
    re.compile(r"Failed opening required '(?P<path>[^']+)'"),
    re.compile(r"\((?P<path>/[^)]+)\): [Ff]ailed to open stream: Permission denied"),
    # nginx: open() "/var/www/html/index.html" failed (13: Permission denied), and the
    # same for stat()/opendir()/realpath(), or an index file "... is forbidden (13: ...)".
    re.compile(r'[a-z]+\(\) "(?P<path>/[^"]+)" failed \(13: Permission denied\)'),
    re.compile(r'"(?P<path>/[^"]+)" is forbidden \(13: Permission denied\)'),
)


class PermissionDenied(Analyzer):
    """
    ## What it does
    Collects EACCES/EPERM on paths from the trace, Apache's `AH00132: file permissions deny
    server access`, `AH00035: ... search permissions are missing on a component of the
    path`, `pcfg_openfile: unable to check htaccess file`, nginx's `open() "PATH" failed
    (13: Permission denied)` (also `stat()`, `opendir()`, and `"PATH" is forbidden (13:
    Permission denied)` for an index file) and PHP's `Failed to open stream: Permission
    denied` / `Failed opening required` for a file that exists. For the path it
    names the component that blocks the web user (a directory without `x` or a file without
    `r`): the finding's file is that component, with its owner and mode and the chmod that
    fixes it; the file that could not be reached through it is quoted in the message.

    ## Why it breaks sites
    A release unpacked with a restrictive umask, or a `chmod 600 wp-config.php`, makes every
    request that loads the file fail with 500 (PHP) or 403 (Apache, nginx), while the files
    look fine to root.

    ## Example
    `openat(AT_FDCWD, "/srv/site/current/wp-includes/version.php", O_RDONLY) = -1 EACCES`
    with `version.php` mode `-rw-------` owned by root.

    ## Fix
    `chmod o+r FILE` (or `o+x DIR` for a directory), or `chown` it to the web user's
    group, as the finding's fix says.
    """

    code = "permission-denied"
    summary = "the web server's user may not read a file or search a directory"

    def analyze(self, evidence: EvidenceSet) -> list[Finding]:
        quotes: dict[str, list[Quote]] = {}
        if evidence.trace is not None:
            for failed in evidence.trace.causes:
                call = failed.call
                if call.errno in ("EACCES", "EPERM") and call.path:
                    quotes.setdefault(call.path, []).append(Quote("trace", call.text))
        texts: list[tuple[str, Quote]] = []
        if evidence.logs is not None:
            texts += [(line.message, log_quote(line.raw)) for line in evidence.logs.request_lines()]
        if evidence.http is not None:
            texts += [
                (m.raw, Quote("http", f"page shows {m.raw[:400]}"))
                for m in evidence.http.php_messages
            ]
        permission_context = any("Permission denied" in text for text, _quote in texts)
        for text, quote in texts:
            for pattern in _LOG_PATTERNS:
                match = pattern.search(text)
                if match is None:
                    continue
                path = match.group("path")
                if pattern.pattern.startswith("Failed opening") and not (
                    permission_context and exists(path, evidence)
                ):
                    continue  # a missing file, not a permission problem
                quotes.setdefault(path, []).append(quote)
                break
        findings = []
        for path, found in quotes.items():
            blocked = blocking_component(path, evidence)
            sources = {q.source for q in found}
            target, need = blocked if blocked else (path, "r")
            what = "search" if need == "x" else "read"
            commands = (f"chmod o+{need} {target}",) if blocked else ()
            facts = describe_mode(target, evidence)
            found_quotes = [*dict.fromkeys(found)]
            found_quotes.append(Quote("host", facts))
            if blocked is None and exists(path, evidence):
                # Readable now (fixed meanwhile, or denied by something else: ACL, SELinux).
                confidence = 0.5
            else:
                confidence = 0.75 + 0.15 * (len(sources) - 1) + (0.05 if blocked else 0.0)
            findings.append(
                Finding(
                    rule=self.code,
                    severity="error",
                    message=(
                        f"{evidence.web_user} cannot {what} {relative(target, evidence)}"
                        + (f" (needed for {relative(path, evidence)})" if target != path else "")
                    ),
                    # The root cause is the component that blocks (a directory without x
                    # names the directory, not the file that could not be reached through it).
                    file=relative(target, evidence),
                    confidence=min(confidence, 0.99),
                    suggestion=f"{facts}; the web server runs as {evidence.web_user}",
                    fix=Fix(
                        description=f"let {evidence.web_user} {what} {relative(target, evidence)}",
                        commands=commands,
                    ),
                    evidence=found_quotes[:6],
                )
            )
        return findings
