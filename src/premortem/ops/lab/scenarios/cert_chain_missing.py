"""The `cert-chain-missing` fault of the TLS lab (documented on its class)."""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import ServedCertificate


class CertChainMissing(ServedCertificate):
    """
    ## What it does
    On a TLS lab (`lab up --tls`), the server stops sending the intermediate CA that signed
    its certificate: Apache's `SSLCertificateChainFile` line is commented out, nginx's
    `ssl_certificate` file holds the certificate alone (cert.pem instead of fullchain.pem).
    The server reloads gracefully.

    ## Why it breaks sites
    Clients that trust only the root cannot build the chain ("unable to get local issuer
    certificate"): API clients, curl, phones, WordPress's own loopback requests; a desktop
    browser that cached the intermediate may still work, which hides the fault.
    `premortem diagnose` names `tls-certificate` at the certificate's directive.

    ## Example
    `premortem lab break cert-chain-missing --dir /srv/premortem-tls-lab`, then `premortem
    diagnose --config /srv/premortem-tls-lab/premortem.toml
    https://premortem-lab.test:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    Serve the full chain (certbot's fullchain.pem for nginx, SSLCertificateChainFile or a
    full-chain SSLCertificateFile for Apache) and reload the server.
    """

    code = "cert-chain-missing"
    summary = "the TLS lab does not send its intermediate CA: clients cannot verify the site"
    with_chain = False
