"""The `tls-certificate` analyzer of `premortem diagnose` (documented on its class)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime

from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
from premortem.collectors.tls import CertificateFacts, TlsEvidence, TlsFile
from premortem.model import Finding, Fix, Quote, Severity

DAY = 86400.0
# A certificate this close to its end is worth a warning on a healthy site.
EXPIRY_WARNING_DAYS = 14
# What OpenSSL says when the server did not send the certificate that signed its own.
MISSING_ISSUER = ("unable to get local issuer certificate", "unable to verify the first")


class TlsCertificate(Analyzer):
    """
    ## What it does
    For an `https://` URL, follows the TLS directives of the site's virtual host (Apache's
    `SSLCertificateFile`, `SSLCertificateKeyFile`, `SSLCertificateChainFile`; nginx's
    `ssl_certificate`, `ssl_certificate_key`) to their files and reads them: a file that is
    missing, unreadable or holds no certificate/key; a key that does not belong to the
    certificate; a certificate that has expired or is not valid yet; the site's name not among
    the certificate's names (subjectAltName); a chain that lacks the certificate that signed
    the server's. Each finding names the directive's file:line; the handshake premortem made
    (connecting to the local server with the site's name) backs it up.

    ## Why it breaks sites
    Browsers refuse the site with a full-page warning ("Your connection is not private",
    NET::ERR_CERT_DATE_INVALID, ERR_CERT_COMMON_NAME_INVALID), and API clients, payment
    callbacks and WordPress's own loopback requests fail outright. A certificate or key file
    that is missing stops the server at its next restart or reload. An incomplete chain
    works in a desktop browser that cached the intermediate and fails everywhere else.

    ## Example
    `SSLCertificateFile /etc/ssl/blog/cert.pem` at sites-enabled/blog-ssl.conf:6, whose
    certificate ended on 2026-03-01: `certificate verify failed: certificate has expired`.

    ## Fix
    Renew or replace the certificate (`certbot renew`, or the files from your CA), point the
    directive at the right file (the full chain for nginx's `ssl_certificate`, or Apache's
    `SSLCertificateChainFile`), keep the key that belongs to it, then test the config and
    reload the server.
    """

    code = "tls-certificate"
    summary = "the site's TLS certificate, key or chain makes visitors' browsers refuse the site"

    def analyze(self, evidence: EvidenceSet) -> list[Finding]:
        handshake = _handshake_error(evidence)
        tls = evidence.tls
        found = _certificate_findings(tls, handshake) if tls else []
        if not found and handshake:
            found.append(_handshake_only(handshake))
        return [_finding(self.code, fault) for fault in found]


@dataclass
class _Fault:
    """One fault before it becomes a Finding: what, where, why, and what to do."""

    message: str
    at: TlsFile | None
    quotes: list[Quote]
    fix: str
    severity: Severity = "error"
    confidence: float = 0.9


def _finding(code: str, fault: _Fault) -> Finding:
    at = fault.at
    quotes = list(fault.quotes)
    if at is not None:
        quotes.insert(0, Quote("config", f"{at.config_file}:{at.line}: {at.directive} {at.path}"))
    return Finding(
        rule=code,
        severity=fault.severity,
        message=fault.message,
        file=at.config_file if at else None,
        line=at.line if at else None,
        confidence=fault.confidence,
        fix=Fix(description=fault.fix),
        evidence=quotes,
    )


def _handshake_error(evidence: EvidenceSet) -> str:
    http = evidence.http
    if http is None or http.error_kind != "tls":
        return ""
    return http.error or "the TLS handshake failed"


def _handshake_only(handshake: str) -> _Fault:
    return _Fault(
        f"the site's TLS handshake fails: {_short(handshake)}",
        None,
        [Quote("http", _short(handshake))],
        "read the certificate the server sends (`openssl s_client -connect HOST:443 "
        "-servername NAME`) and renew or replace it",
        confidence=0.6,
    )


def _certificate_findings(tls: TlsEvidence, handshake: str) -> list[_Fault]:
    """The faults of the files, then of the server's certificate, most basic first."""
    faults = [_file_fault(f, handshake) for f in tls.files if f.problem]
    cert, key = tls.file("certificate"), tls.file("key") or tls.file("certificate")
    if tls.key_matches is False and key is not None and cert is not None:
        faults.append(
            _Fault(
                f"the key {key.path} does not belong to the certificate {cert.path}",
                key,
                _agreeing(handshake),
                f"point {key.directive} at the key the certificate was issued for (or "
                "reissue the certificate for this key)",
            )
        )
    leaf = tls.leaf
    if leaf is not None and cert is not None:
        faults += _validity_faults(tls, cert, leaf, handshake)
        name = _name_fault(tls, cert, leaf, handshake)
        chain = _chain_fault(tls, cert, leaf, handshake)
        faults += [fault for fault in (name, chain) if fault is not None]
    return faults


def _file_fault(found: TlsFile, handshake: str) -> _Fault:
    what = {"certificate": "certificate", "key": "private key", "chain": "certificate chain"}
    return _Fault(
        f"the {what.get(found.role, found.role)} file {found.path} named by {found.directive} is "
        f"{found.problem}: the server cannot load it (it fails to start or reload)",
        found,
        _agreeing(handshake),
        f"restore {found.path} (readable by root, the key 0600) or point {found.directive} "
        "at the right file, then test the config and reload",
        confidence=0.92,
    )


def _validity_faults(
    tls: TlsEvidence, cert: TlsFile, leaf: CertificateFacts, handshake: str
) -> list[_Fault]:
    valid = f"valid from {_date(leaf.not_before)} to {_date(leaf.not_after)}"
    quotes = [Quote("host", f"{cert.path}: {leaf.subject}, {valid}"), *_agreeing(handshake)]
    renew = (
        f"renew the certificate (`certbot renew`, or a new one from your CA) into {cert.path}, "
        "then test the config and reload"
    )
    days_left = (leaf.not_after - tls.checked_at) / DAY
    if days_left < 0:
        message = f"the certificate {cert.path} expired on {_date(leaf.not_after)}"
        return [_Fault(f"{message} ({_days(-days_left)} ago)", cert, quotes, renew)]
    if leaf.not_before > tls.checked_at:
        message = f"the certificate {cert.path} is not valid before {_date(leaf.not_before)}"
        fix = "check the server's clock, or install the certificate that is valid now"
        return [_Fault(message, cert, quotes, fix)]
    if days_left < EXPIRY_WARNING_DAYS:
        message = f"the certificate {cert.path} expires in {_days(days_left)}"
        return [_Fault(message, cert, quotes, renew, severity="warning", confidence=0.7)]
    return []


def _name_fault(
    tls: TlsEvidence, cert: TlsFile, leaf: CertificateFacts, handshake: str
) -> _Fault | None:
    if not tls.hostname or covers(leaf, tls.hostname):
        return None
    names = ", ".join([*leaf.dns_names, *leaf.ip_addresses]) or "no name (no subjectAltName)"
    return _Fault(
        f"the certificate {cert.path} is not valid for {tls.hostname}: it is for {names}",
        cert,
        [Quote("host", f"{cert.path}: subjectAltName {names}"), *_agreeing(handshake)],
        f"install a certificate whose names include {tls.hostname} (e.g. `certbot --expand "
        f"-d {tls.hostname}`), or correct {cert.directive} if it names another site's file",
    )


def _chain_fault(
    tls: TlsEvidence, cert: TlsFile, leaf: CertificateFacts, handshake: str
) -> _Fault | None:
    """The server's certificate was signed by a CA it does not send, and the client could
    not find that CA: the handshake said so."""
    sent = {c.subject for c in tls.chain}
    if leaf.self_signed or leaf.issuer in sent:
        return None
    if not any(marker in handshake.lower() for marker in MISSING_ISSUER):
        return None
    chain = tls.file("chain")
    where = f"{chain.path} ({chain.directive})" if chain else cert.path
    return _Fault(
        f"the server does not send the certificate that signed its own ({leaf.issuer}): "
        f"{where} lacks it, so clients cannot build the chain",
        chain or cert,
        [Quote("host", f"{cert.path}: issued by {leaf.issuer}"), *_agreeing(handshake)],
        "serve the full chain: the certificate followed by its intermediate(s) in "
        f"{cert.path} (nginx; certbot's fullchain.pem), or Apache's SSLCertificateChainFile",
        confidence=0.88,
    )


def covers(leaf: CertificateFacts, hostname: str) -> bool:
    """Whether the certificate's subjectAltName covers `hostname` (one-label wildcards)."""
    name = hostname.lower().rstrip(".")
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if address is not None:
        return any(ipaddress.ip_address(a) == address for a in leaf.ip_addresses)
    for pattern in (n.lower().rstrip(".") for n in leaf.dns_names):
        if pattern == name:
            return True
        if pattern.startswith("*.") and "." in name and name.split(".", 1)[1] == pattern[2:]:
            return True
    return False


def _agreeing(handshake: str) -> list[Quote]:
    return [Quote("http", _short(handshake))] if handshake else []


def _short(error: str) -> str:
    # OpenSSL's "(_ssl.c:1006)" says nothing to an operator.
    return error.split(" (_ssl.c")[0]


def _days(count: float) -> str:
    whole = round(count)
    return f"{whole} day" if whole == 1 else f"{whole} days"


def _date(timestamp: float) -> str:
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    except (OverflowError, OSError, ValueError):  # a date no calendar holds (a bad recording)
        return f"timestamp {timestamp}"
