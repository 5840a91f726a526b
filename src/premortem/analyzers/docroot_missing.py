"""The `docroot-missing` analyzer of `premortem diagnose` (documented on its class)."""

from __future__ import annotations

from premortem.analyzers._common import file_stat, log_quote
from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
from premortem.model import Finding, Fix, Quote


class DocrootMissing(Analyzer):
    """
    ## What it does
    Checks the DocumentRoot of the virtual host that serves the URL (from the running
    server's configuration, or the site config): missing, a dangling `current` symlink, or
    not a directory. Apache's `AH00112: Warning: DocumentRoot [...] does not exist`,
    `AH00128: File does not exist` and `AH00037: Symbolic link not allowed or link target
    not accessible` lines in the error log back it up.

    ## Why it breaks sites
    Every request answers 404 or 403; after a botched deploy that removed the
    release a `current` link points to, the whole site is gone at once.

    ## Example
    `DocumentRoot /srv/site/current` where `current -> releases/20261126-0100` and that
    release directory was deleted.

    ## Fix
    Point the link back at an existing release (`ln -sfn releases/PREVIOUS current`), or
    restore the directory, or correct DocumentRoot and reload.
    """

    code = "docroot-missing"
    summary = "the DocumentRoot the server is configured with does not exist"

    def analyze(self, evidence: EvidenceSet) -> list[Finding]:
        docroot = ""
        if evidence.server and evidence.server.docroot:
            docroot = evidence.server.docroot
        elif evidence.docroot:
            docroot = evidence.docroot
        found = file_stat(docroot, evidence) if docroot else None
        if found is None or found.kind == "dir":
            return []  # no docroot, or not looked at: nothing to say
        quotes = []
        site = evidence.server and (evidence.server.apache or evidence.server.nginx)
        if site:
            quotes.append(Quote("config", f"document root {docroot} ({site.config_file})"))
        if found.is_link:
            target = found.link_target
            quotes.append(Quote("host", f"{docroot} -> {target}, which does not exist"))
            description = f"point {docroot} at an existing release"
            commands: tuple[str, ...] = ()
        elif found.exists:
            quotes.append(Quote("host", f"{docroot} is not a directory"))
            description, commands = f"make {docroot} the site's directory", ()
        else:
            quotes.append(Quote("host", f"{docroot} does not exist"))
            description, commands = f"restore {docroot} or correct DocumentRoot", ()
        if evidence.http is not None and evidence.http.status in (403, 404):
            quotes.append(Quote("http", f"{evidence.http.status} {evidence.http.reason}"))
        if evidence.logs is not None:
            for line in evidence.logs.request_lines():
                if any(code in line.message for code in ("AH00128", "AH00112", "AH00037")):
                    quotes.append(log_quote(line.raw))
                    break
        return [
            Finding(
                rule=self.code,
                severity="error",
                message=f"the DocumentRoot {docroot} does not exist",
                confidence=0.9,
                fix=Fix(description=description, commands=commands),
                evidence=quotes,
            )
        ]
