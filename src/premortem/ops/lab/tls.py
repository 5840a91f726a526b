"""The TLS lab (`premortem lab up --tls`): its name, its throwaway PKI, its certificates.

The lab answers `https://premortem-lab.test:<port>/`: a name that resolves nowhere (`.test`
is reserved), so every request premortem makes goes to 127.0.0.1 with that name as SNI and
Host, as for a real site whose DNS points elsewhere. The certificates are made here with
`cryptography` (pki.py) under `<lab>/tls/`: a root CA that only premortem.toml's `ca_file`
trusts, an intermediate that signs the server's certificate (so the server must send the
chain), and the server's certificate for the lab's name and 127.0.0.1. Faults re-issue the
server's certificate (expired, for another name) with the intermediate's key.
"""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from premortem.errors import PremortemError
from premortem.ops.lab import pki
from premortem.ops.lab.layout import LabPaths

LAB_NAME = "premortem-lab.test"
LAB_NAMES = [LAB_NAME, "127.0.0.1"]


def make_pki(paths: LabPaths) -> None:
    """The lab's CA, intermediate and server certificate, made once (kept across `up`s)."""
    if paths.tls_ca.exists() and paths.tls_key.exists() and paths.tls_issuer_key.exists():
        return
    paths.tls_dir.mkdir(parents=True, exist_ok=True)
    paths.tls_dir.chmod(0o755)
    root = pki.make_ca("premortem lab root CA")
    intermediate = pki.make_ca("premortem lab intermediate CA", issuer=root)
    pki.write_file(paths.tls_ca, pki.cert_pem(root.cert))
    pki.write_file(paths.tls_chain, pki.cert_pem(intermediate.cert))
    pki.write_file(paths.tls_issuer_key, pki.key_pem(intermediate.key), 0o600)
    server = pki.make_server_cert(intermediate, LAB_NAMES)
    pki.write_file(paths.tls_key, pki.key_pem(server.key), 0o600)
    cert, fullchain = served_files(paths, server.cert)
    pki.write_file(paths.tls_cert, cert)
    pki.write_file(paths.tls_fullchain, fullchain)


def issuer(paths: LabPaths) -> pki.Issued:
    """The lab's intermediate CA, as it was made."""
    cert = x509.load_pem_x509_certificate(paths.tls_chain.read_bytes())
    key = serialization.load_pem_private_key(paths.tls_issuer_key.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PremortemError(f"{paths.tls_issuer_key} is not the lab's intermediate key")
    return pki.Issued(cert, key)


def server_key(paths: LabPaths) -> pki.Key:
    key = serialization.load_pem_private_key(paths.tls_key.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PremortemError(f"{paths.tls_key} is not the lab's server key")
    return key


def reissued(
    paths: LabPaths,
    names: list[str] | None = None,
    *,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> x509.Certificate:
    """A server certificate for the lab's key (so the key still matches), signed by the
    intermediate, for `names` (default: the lab's) and the validity given."""
    intermediate = issuer(paths)
    return pki.make_server_cert(
        intermediate,
        names or LAB_NAMES,
        not_before=not_before,
        not_after=not_after,
        key=server_key(paths),
    ).cert


def served_files(paths: LabPaths, cert: x509.Certificate) -> tuple[bytes, bytes]:
    """(server.pem, fullchain.pem) for `cert`: alone, and followed by the intermediate."""
    alone = pki.cert_pem(cert)
    return alone, alone + paths.tls_chain.read_bytes()
