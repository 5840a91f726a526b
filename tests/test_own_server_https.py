"""An HTTPS site on Debian's own apache2 layout (mod_ssl enabled as a2enmod does, a
NAME-ssl.conf vhost) whose certificate expired: `diagnose https://NAME:PORT/` from an empty
directory connects to the local server with the site's name (SNI) and names the
certificate and its SSLCertificateFile line top-1."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from debian_site import DebianApacheSite
from own_server import premortem, site_base
from tls_helpers import write_pki

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def expired_site() -> Iterator[DebianApacheSite]:
    with site_base("premortem-own-https-") as base:
        docroot = base / "www" / "blog"
        docroot.mkdir(parents=True)
        (docroot / "index.html").write_text("<!DOCTYPE html><html><body>blog</body></html>\n")
        now = datetime.datetime.now(datetime.UTC)
        _ca, cert, key = write_pki(
            base,
            ["blog.test"],
            not_before=now - datetime.timedelta(days=400),
            not_after=now - datetime.timedelta(days=3),
        )
        site = DebianApacheSite(base, docroot)
        site.build()
        site.enable_tls(cert, key)
        site.start()
        try:
            yield site
        finally:
            site.stop()


def test_an_expired_certificate_is_the_top_finding_with_its_directive(
    expired_site: DebianApacheSite, tmp_path: Path
) -> None:
    url = f"https://blog.test:{expired_site.tls_port}/"
    proc = premortem("diagnose", url, "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    top = json.loads(proc.stdout)["findings"][0]
    vhost = expired_site.confdir / "sites-enabled" / "blog.test-ssl.conf"
    assert top["rule"] == "tls-certificate", top
    assert "expired" in top["message"]
    assert (top["file"], top["line"]) == (str(vhost), 9)
