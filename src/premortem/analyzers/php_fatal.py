"""The `php-fatal` analyzer of `premortem diagnose` (documented on its class)."""

from __future__ import annotations

import re

from premortem.analyzers._common import relative, request_php_messages
from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
from premortem.model import Finding, Fix, Quote

# Function-name prefixes of extensions Debian ships as separate packages.
EXTENSION_PACKAGES: tuple[tuple[str, str], ...] = (
    ("mysqli_", "php-mysql"),
    ("mysql_", "php-mysql"),
    ("pdo_mysql", "php-mysql"),
    ("curl_", "php-curl"),
    ("mb_", "php-mbstring"),
    ("imagecreate", "php-gd"),
    ("imagepng", "php-gd"),
    ("gd_", "php-gd"),
    ("simplexml_", "php-xml"),
    ("xml_", "php-xml"),
    ("dom_", "php-xml"),
    ("xmlwriter_", "php-xml"),
    ("zip_", "php-zip"),
    ("intl", "php-intl"),
    ("grapheme_", "php-intl"),
    ("idn_to_", "php-intl"),
    ("bc", "php-bcmath"),
    ("gmp_", "php-gmp"),
    ("ldap_", "php-ldap"),
    ("pg_", "php-pgsql"),
    ("sqlite_", "php-sqlite3"),
    ("imap_", "php-imap"),
    ("soap", "php-soap"),
    ("apcu_", "php-apcu"),
    ("imagick", "php-imagick"),
    ("redis", "php-redis"),
    ("memcache", "php-memcached"),
)
_UNDEFINED_RE = re.compile(r"Call to undefined function (?P<name>[\w\\]+)\(")
_CLASS_RE = re.compile(r'Class "?(?P<name>[\w\\]+)"? not found')
_MEMORY_RE = re.compile(r"Allowed memory size of (?P<limit>\d+) bytes exhausted")
FATAL_SEVERITIES = frozenset(
    {"Fatal error", "Parse error", "Recoverable fatal error", "Compile error", "Core error"}
)
_SKIP_RE = re.compile(r"Failed opening required|Failed to open stream")


def package_for_function(name: str) -> str | None:
    short = name.rsplit("\\", 1)[-1].lower()
    for prefix, package in EXTENSION_PACKAGES:
        if short.startswith(prefix):
            return package
    return None


class PhpFatal(Analyzer):
    """
    ## What it does
    Reads PHP's fatal and parse errors for the request from the error log and, when PHP
    logs nothing, the `php -l` result of recently changed PHP files and of the last files
    the traced request loaded. It recognises:
    undefined function (and names the Debian package of the missing PHP extension),
    class not found, allowed memory size exhausted, and syntax (parse) errors.

    ## Why it breaks sites
    A fatal error ends the request with 500 and usually a blank page; WordPress shows
    "There has been a critical error on this website" at best.

    ## Example
    `PHP Fatal error:  Uncaught Error: Call to undefined function mysqli_connect()` on a
    host without php-mysql; `PHP Parse error: syntax error, unexpected token "echo"` in a
    file edited by the release.

    ## Fix
    Install the extension (`apt-get install php-mysql` then reload the server), raise
    `memory_limit`, or correct the syntax error at the file and line given.
    """

    code = "php-fatal"
    summary = "PHP stopped the request with a fatal error (not a missing or unreadable include)"

    def analyze(self, evidence: EvidenceSet) -> list[Finding]:
        findings: list[Finding] = []
        seen: set[tuple[str | None, int | None]] = set()
        for message, quote in request_php_messages(evidence):
            if message.severity not in FATAL_SEVERITIES:
                continue
            key = (message.file, message.line)
            if _SKIP_RE.search(message.text):
                continue
            if key in seen:
                # The page and the log tell the same: one finding, both quotes.
                same = next(
                    f
                    for f in findings
                    if (f.line, f.file)
                    == (message.line, relative(message.file, evidence) if message.file else None)
                )
                same.evidence.append(quote)
                same.confidence = 0.95
                continue
            seen.add(key)
            finding = _from_message(
                message.severity, message.text, message.file, message.line, quote, evidence
            )
            finding.confidence = 0.85
            findings.append(finding)
        if evidence.changes is not None:
            for lint in evidence.changes.lint:
                if lint.ok or not lint.message:
                    continue
                key = (lint.file, lint.line)
                duplicate = [
                    f
                    for f in findings
                    if f.rule == self.code
                    and f.line == lint.line
                    and f.file == relative(lint.file, evidence)
                ]
                if duplicate:
                    duplicate[0].evidence.append(Quote("changes", f"php -l {lint.message}"))
                    duplicate[0].confidence = min((duplicate[0].confidence or 0.8) + 0.1, 0.99)
                    continue
                if key in seen:
                    continue
                seen.add(key)
                finding = _from_message(
                    "Parse error",
                    lint.message,
                    lint.file,
                    lint.line,
                    Quote("changes", f"php -l {lint.message}"),
                    evidence,
                )
                # A changed file that does not parse is likely the cause of a 500, very likely if
                # the traced request loaded it, unlikely if the trace shows it was not loaded.
                failing = evidence.http is not None and (evidence.http.status or 0) >= 500
                if evidence.trace is not None:
                    loaded = lint.file in evidence.trace.loaded_files
                    finding.confidence = 0.85 if loaded else 0.35
                else:
                    finding.confidence = 0.7 if failing else 0.4
                if evidence.http is not None and evidence.http.healthy:
                    # This URL works; another page that loads the file will not.
                    finding.severity = "warning"
                findings.append(finding)
        return findings


def _from_message(
    severity: str,
    text: str,
    file: str | None,
    line: int | None,
    quote: Quote,
    evidence: EvidenceSet,
) -> Finding:
    """The finding one PHP error message stands for, at its file and line."""
    where = f"{relative(file, evidence)} line {line}" if file and line else "the request"
    finding = Finding(
        rule=PhpFatal.code,
        severity="error",
        file=relative(file, evidence) if file else None,
        line=line,
        message=f"PHP fatal error in {where}: {text.split(' in /', 1)[0][:200]}",
        evidence=[quote],
    )
    if severity == "Parse error" or "syntax error" in text:
        detail = text.split(" in /", 1)[0].removeprefix("Parse error: ")
        finding.message = f"PHP syntax error in {where}: {detail}"
        finding.fix = Fix(description=f"correct the syntax at {where} (check with: php -l {file})")
    elif match := _UNDEFINED_RE.search(text):
        _undefined_function(finding, match.group("name"), where)
    elif match := _CLASS_RE.search(text):
        finding.message = f"class {match.group('name')} not found in {where}"
        finding.suggestion = (
            "the file that defines it is not loaded (missing plugin, autoloader or extension)"
        )
        finding.fix = Fix(
            description=f"restore or load the file that defines {match.group('name')}"
        )
    elif match := _MEMORY_RE.search(text):
        limit_mb = int(match.group("limit")) // (1024 * 1024)
        finding.message = f"PHP ran out of memory (memory_limit {limit_mb} MB) in {where}"
        finding.fix = Fix(
            description=f"raise memory_limit above {limit_mb} MB (php.ini or WP_MEMORY_LIMIT)"
            " or find what allocates so much",
        )
    return finding


def _undefined_function(finding: Finding, name: str, where: str) -> None:
    """A call to a function no loaded code defines: often a PHP extension not installed."""
    package = package_for_function(name)
    finding.message = f"call to undefined function {name}() in {where}"
    if package:
        finding.suggestion = f"the function comes from a PHP extension: install {package}"
        finding.fix = Fix(
            description=f"install {package} and reload the web server",
            commands=(f"apt-get install {package}", "apache2ctl graceful"),
        )
    else:
        finding.suggestion = "a plugin or extension that defines it is missing"
        finding.fix = Fix(description="install or enable what defines the function")
