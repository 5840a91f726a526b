"""The `htaccess-invalid-directive` analyzer of `premortem diagnose` (documented on its class)."""

from __future__ import annotations

import difflib
import re

from premortem.analyzers._common import log_quote, relative
from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
from premortem.model import Edit, Finding, Fix, Quote

_LOG_RE = re.compile(
    r"(?P<path>/\S*\.htaccess): (?P<what>Invalid command '(?P<cmd>[^']+)'|"
    r"(?P<cmd2>\w+) not allowed here|[^,]+)"
)
# Directives people put in .htaccess, and the module that provides them.
KNOWN_DIRECTIVES: dict[str, str] = {
    "RewriteEngine": "rewrite",
    "RewriteRule": "rewrite",
    "RewriteCond": "rewrite",
    "RewriteBase": "rewrite",
    "Header": "headers",
    "RequestHeader": "headers",
    "ExpiresActive": "expires",
    "ExpiresByType": "expires",
    "ExpiresDefault": "expires",
    "AddOutputFilterByType": "filter",
    "SetEnvIf": "setenvif",
    "AuthType": "auth_basic",
    "AuthName": "authn_core",
    "AuthUserFile": "authn_file",
    "Require": "authz_core",
    "Options": "core",
    "DirectoryIndex": "dir",
    "ErrorDocument": "core",
    "AddType": "mime",
    "AddHandler": "mime",
    "Redirect": "alias",
    "RedirectMatch": "alias",
    "php_value": "php",
    "php_flag": "php",
    "FileETag": "core",
    "Deny": "access_compat",
    "Allow": "access_compat",
    "Order": "access_compat",
    "SetHandler": "core",
}


class HtaccessInvalidDirective(Analyzer):
    """
    ## What it does
    Reads Apache's `/path/.htaccess: Invalid command 'X', perhaps misspelled or defined by a
    module not included in the server configuration` (and `... not allowed here`) from the
    error log, finds the line in that .htaccess, and tells whether it is a typo of a known
    directive or needs a module that is not loaded.

    ## Why it breaks sites
    Apache parses .htaccess on every request below its directory; one bad line turns every
    one of those requests, static files included, into a 500.

    ## Example
    `RewriteEngin On` (typo) or `Header set X-Frame-Options DENY` without mod_headers.

    ## Fix
    Correct the directive (`RewriteEngin` -> `RewriteEngine`), enable the module
    (`a2enmod rewrite`), or comment the line out.
    """

    code = "htaccess-invalid-directive"
    summary = "a .htaccess file contains a directive Apache does not know"

    def analyze(self, evidence: EvidenceSet) -> list[Finding]:
        if evidence.logs is None:
            return []
        findings: list[Finding] = []
        seen: set[str] = set()
        for line in evidence.logs.request_lines():
            match = _LOG_RE.search(line.message)
            if match is None or "pcfg_openfile" in line.message:
                continue
            path, command = match.group("path"), match.group("cmd") or match.group("cmd2")
            if path in seen:
                continue
            seen.add(path)
            number, text = _find_line(evidence, path, command)
            rel = relative(path, evidence)
            quotes = [log_quote(line.raw)]
            fix: Fix | None = None
            suggestion = None
            if command:
                close = difflib.get_close_matches(command, list(KNOWN_DIRECTIVES), n=1, cutoff=0.8)
                loaded = _loaded_modules(evidence)
                if command in KNOWN_DIRECTIVES and f"{KNOWN_DIRECTIVES[command]}_module" in loaded:
                    suggestion = (
                        f"mod_{KNOWN_DIRECTIVES[command]} is loaded; check the directive's "
                        "arguments and the AllowOverride of this directory"
                    )
                elif command in KNOWN_DIRECTIVES:
                    module = KNOWN_DIRECTIVES[command]
                    suggestion = f"{command} needs mod_{module}, which is not loaded"
                    if loaded:
                        quotes.append(Quote("config", f"apache2 -M does not list {module}_module"))
                    fix = Fix(
                        description=f"enable mod_{module} (or remove the line)",
                        commands=(f"a2enmod {module}", "apache2ctl graceful"),
                    )
                elif close and number:
                    suggestion = f"did you mean {close[0]}?"
                    fix = Fix(
                        description=f"change {command} to {close[0]} in {rel} line {number}",
                        edits=(Edit(rel, number, command, close[0]),),
                    )
                elif number and text is not None:
                    fix = Fix(
                        description=f"comment out line {number} of {rel}",
                        edits=(Edit(rel, number, text, "# " + text),),
                    )
            findings.append(
                Finding(
                    rule=self.code,
                    severity="error",
                    message=f"{rel}"
                    + (f" line {number}" if number else "")
                    + f": {match.group('what')}",
                    file=rel,
                    line=number,
                    confidence=0.9 if line.this_request else 0.6,
                    suggestion=suggestion,
                    fix=fix,
                    evidence=quotes,
                    source_line=text,
                )
            )
        return findings


def _loaded_modules(evidence: EvidenceSet) -> set[str]:
    apache = evidence.server.apache if evidence.server else None
    return set(apache.loaded_modules) if apache else set()


def _find_line(
    evidence: EvidenceSet, path: str, command: str | None
) -> tuple[int | None, str | None]:
    """The line of the .htaccess file (as the file collector read it) that says `command`."""
    lines = evidence.files.texts.get(path) if evidence.files is not None else None
    if not command or lines is None:
        return None, None
    for number, text in enumerate(lines, 1):
        stripped = text.strip()
        if stripped.split(None, 1)[:1] == [command] or stripped.startswith(f"<{command}"):
            return number, text
    return None, None
