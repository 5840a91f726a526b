"""The tls collector: the certificate, key and chain files the site's server config names.

For an `https://` URL, the TLS directives the readers found for the site (Apache's
`SSLCertificateFile`/`SSLCertificateKeyFile`/`SSLCertificateChainFile`, nginx's
`ssl_certificate`/`ssl_certificate_key`, each with its file:line) are followed to their files,
read with `cryptography` (never by running openssl): whether each file is there and readable,
each certificate's names, issuer and validity, and whether the key belongs to the
certificate. The private key is only compared, never kept nor printed. What the handshake
itself said is the http collector's (`HttpEvidence.error`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from premortem.host import Host
from premortem.readers.apache import ConfigDirective

# What each TLS directive names, by its lower-case name.
ROLES = {
    "sslcertificatefile": "certificate",
    "sslcertificatekeyfile": "key",
    "sslcertificatechainfile": "chain",
    "ssl_certificate": "certificate",
    "ssl_certificate_key": "key",
}
MAX_PEM_BYTES = 1024 * 1024


@dataclass
class CertificateFacts:
    subject: str
    issuer: str
    not_before: float  # seconds since the epoch
    not_after: float
    dns_names: list[str] = field(default_factory=list)
    ip_addresses: list[str] = field(default_factory=list)
    self_signed: bool = False
    is_ca: bool = False


@dataclass
class TlsFile:
    """One file a TLS directive names, and what was found in it."""

    role: str  # certificate | key | chain
    directive: str
    config_file: str
    line: int
    path: str
    # "" when the file was read; else "missing", "unreadable (...)", "no certificate in it"...
    problem: str = ""
    certificates: list[CertificateFacts] = field(default_factory=list)


@dataclass
class TlsEvidence:
    hostname: str
    port: int
    # When the certificates were judged (validity is relative to it).
    checked_at: float
    server: str = ""
    files: list[TlsFile] = field(default_factory=list)
    # Whether the key file's key belongs to the certificate (None: not both readable).
    key_matches: bool | None = None

    def file(self, role: str) -> TlsFile | None:
        return next((f for f in self.files if f.role == role), None)

    @property
    def leaf(self) -> CertificateFacts | None:
        """The server's certificate: the first one of the certificate file."""
        cert = self.file("certificate")
        return cert.certificates[0] if cert and cert.certificates else None

    @property
    def chain(self) -> list[CertificateFacts]:
        """What the server sends after its certificate (the rest of the file, the chain file)."""
        cert, chain = self.file("certificate"), self.file("chain")
        sent = cert.certificates[1:] if cert else []
        return sent + (chain.certificates if chain else [])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def collect_tls(
    hostname: str,
    port: int,
    server: str,
    directives: list[ConfigDirective],
    host: Host | None = None,
) -> TlsEvidence:
    """Read what the TLS directives name; a missing or unreadable file is a fact, not an error.
    `host`: the machine whose files are read (None: this one's, opened directly)."""
    evidence = TlsEvidence(hostname=hostname, port=port, checked_at=time.time(), server=server)
    key_file_key: bytes | None = None
    embedded_key: bytes | None = None  # a key inside the certificate file (both servers allow it)
    certificate_key: bytes | None = None
    for directive in directives:
        role = ROLES.get(directive.directive.lower())
        if role is None or not directive.args:
            continue
        found = TlsFile(
            role, directive.directive, directive.file, directive.line, directive.args[0]
        )
        evidence.files.append(found)
        data = _read(found, host)
        if data is None:
            continue
        if role == "key":
            key_file_key = _public_key_of_key(found, data)
            continue
        leaf_key = _read_certificates(found, data)
        if role == "certificate":
            certificate_key = leaf_key
            if b"PRIVATE KEY-----" in data:
                embedded_key = _public_key_of_key(TlsFile(**asdict(found)), data)
    key = key_file_key or embedded_key
    if key is not None and certificate_key is not None:
        evidence.key_matches = key == certificate_key
    return evidence


def _read(found: TlsFile, host: Host | None) -> bytes | None:
    if "$" in found.path:  # nginx variables ($ssl_server_name): known only per request
        found.problem = "named by a variable"
        return None
    if host is not None and not host.local_files:  # this machine's: opened as before
        return _read_on(found, host)
    try:
        with open(found.path, "rb") as handle:
            data = handle.read(MAX_PEM_BYTES)
    except FileNotFoundError:
        found.problem = "missing"
        return None
    except OSError as exc:
        found.problem = f"unreadable ({os.strerror(exc.errno or errno.EIO)})"
        return None
    if not data.strip():
        found.problem = "empty"
        return None
    return data


def _read_on(found: TlsFile, host: Host) -> bytes | None:
    """`_read` through a Host given as data: the same facts (missing, unreadable, empty)."""
    data = host.read_bytes(found.path, MAX_PEM_BYTES)
    if data is None:
        stat = host.stat(found.path)
        if not stat.exists and stat.error == os.strerror(errno.ENOENT):
            found.problem = "missing"
        else:
            found.problem = f"unreadable ({stat.error or os.strerror(errno.EACCES)})"
        return None
    if not data.strip():
        found.problem = "empty"
        return None
    return data


def _read_certificates(found: TlsFile, data: bytes) -> bytes | None:
    """Fill `found.certificates`; the public key of the first one (the server's)."""
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        found.problem = "no PEM certificate in it"
        return None
    found.certificates = [certificate_facts(c) for c in certs]
    return _spki(certs[0].public_key())


def _public_key_of_key(found: TlsFile, data: bytes) -> bytes | None:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        found.problem = "an encrypted key (the server would ask for a passphrase)"
        return None
    except (ValueError, x509.UnsupportedGeneralNameType):
        found.problem = "no PEM private key in it"
        return None
    return _spki(key.public_key())


def _spki(public_key: Any) -> bytes:
    return bytes(
        public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def certificate_facts(cert: x509.Certificate) -> CertificateFacts:
    facts = CertificateFacts(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc.timestamp(),
        not_after=cert.not_valid_after_utc.timestamp(),
        self_signed=cert.subject == cert.issuer,
    )
    with contextlib.suppress(x509.ExtensionNotFound):
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        facts.dns_names = [str(n) for n in names.get_values_for_type(x509.DNSName)]
        facts.ip_addresses = [str(a) for a in names.get_values_for_type(x509.IPAddress)]
    with contextlib.suppress(x509.ExtensionNotFound):
        facts.is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    return facts
