"""The `cert-name-mismatch` fault of the TLS lab (documented on its class)."""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import ServedCertificate


class CertNameMismatch(ServedCertificate):
    """
    ## What it does
    On a TLS lab (`lab up --tls`), replaces the server's certificate by a valid one of the
    same key for another site's name (`other-site.test`), and reloads the server, as when a
    vhost points at another site's certificate file.

    ## Why it breaks sites
    Browsers refuse the site (ERR_CERT_COMMON_NAME_INVALID); `premortem diagnose` names
    `tls-certificate`: the certificate is not valid for premortem-lab.test.

    ## Example
    `premortem lab break cert-name-mismatch --dir /srv/premortem-tls-lab`, then `premortem
    diagnose --config /srv/premortem-tls-lab/premortem.toml
    https://premortem-lab.test:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    Install a certificate whose names include the site's, and reload the server.
    """

    code = "cert-name-mismatch"
    summary = "the TLS lab serves a certificate for another name: browsers refuse the site"
    names = ("other-site.test",)
