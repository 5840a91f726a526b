"""The TLS lab's throwaway PKI: a root CA, an intermediate CA and server certificates.

Made with `cryptography` in the lab dir (`<lab>/tls/`) and trusted only by premortem's own
probes of the lab (premortem.toml `ca_file`), never installed into the system's trust store.
The server certificate is signed by the intermediate, so the server must send the chain
(the `cert-chain-missing` fault takes it away). Keys are P-256 (fast to make), written 0600.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from premortem.collectors.target import is_ip

Key = ec.EllipticCurvePrivateKey
DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: Key


def new_key() -> Key:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "premortem lab (throwaway)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _validity(
    not_before: datetime.datetime | None, not_after: datetime.datetime | None, days: int
) -> tuple[datetime.datetime, datetime.datetime]:
    start = not_before or datetime.datetime.now(datetime.UTC) - DAY
    return start, not_after or start + days * DAY


def _builder(
    subject: str,
    issuer: x509.Name,
    key: Key,
    validity: tuple[datetime.datetime, datetime.datetime],
    ca: bool,
) -> x509.CertificateBuilder:
    """What every lab certificate starts with: names, key, a random serial, validity and
    whether it is a CA."""
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )


def make_ca(common_name: str, issuer: Issued | None = None, days: int = 3650) -> Issued:
    """A CA certificate: self-signed (a root) or signed by `issuer` (an intermediate)."""
    key = new_key()
    signing_key = issuer.key if issuer else key
    issuer_name = issuer.cert.subject if issuer else _name(common_name)
    builder = (
        _builder(common_name, issuer_name, key, _validity(None, None, days), ca=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False
        )
    return Issued(builder.sign(signing_key, hashes.SHA256()), key)


def make_server_cert(
    issuer: Issued,
    names: list[str],
    *,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    days: int = 825,
    key: Key | None = None,
) -> Issued:
    """A server certificate for `names` (DNS names and IP addresses, in SAN), signed by
    `issuer`; `not_before`/`not_after` make one that is expired or not yet valid; `key`
    (default: a new one) keeps a server's key."""
    key = key or new_key()
    validity = _validity(not_before, not_after, days)
    alternatives: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address(n)) if is_ip(n) else x509.DNSName(n) for n in names
    ]
    cert = (
        _builder(names[0], issuer.cert.subject, key, validity, ca=False)
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False
        )
        .sign(issuer.key, hashes.SHA256())
    )
    return Issued(cert, key)


def cert_pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def key_pem(key: Key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_file(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write atomically with `mode` from the start (a key is never readable by others)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
