"""The `cert-expired` fault of the TLS lab (documented on its class)."""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import ServedCertificate


class CertExpired(ServedCertificate):
    """
    ## What it does
    On a TLS lab (`lab up --tls`), replaces the server's certificate by one of the same
    key and names that ended yesterday (valid for 90 days before), and reloads the server
    gracefully, as when a renewal silently stopped working.

    ## Why it breaks sites
    Every visitor's browser refuses the site ("Your connection is not private",
    NET::ERR_CERT_DATE_INVALID); `premortem diagnose` names `tls-certificate` at the
    `SSLCertificateFile` (Apache) or `ssl_certificate` (nginx) line.

    ## Example
    `premortem lab up --tls --dir /srv/premortem-tls-lab`, `premortem lab break cert-expired
    --dir /srv/premortem-tls-lab`, then `premortem diagnose --config
    /srv/premortem-tls-lab/premortem.toml https://premortem-lab.test:8080/`; `premortem lab
    repair` undoes the fault byte for byte.

    ## Fix
    Renew the certificate and reload the server.
    """

    code = "cert-expired"
    summary = "the TLS lab serves a certificate that expired yesterday: browsers refuse the site"
    valid_from_days = -91
    valid_until_days = -1
