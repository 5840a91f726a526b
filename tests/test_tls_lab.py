"""The TLS lab (`lab up --tls`): https://premortem-lab.test:PORT/ served by the lab's own CA,
diagnosed over https (the name resolves nowhere: premortem connects to 127.0.0.1 with SNI).

Certificate faults are diagnosed top-1 at the directive's file:line, the seed still is.
"""

from __future__ import annotations

import pytest

from premortem.ops.lab import Lab, get_scenario
from premortem.ops.lab.tls import LAB_NAME
from test_diagnose_lab import diagnose_json

CERT_FAULTS = ("cert-expired", "cert-name-mismatch", "cert-chain-missing")
# Where each flavour names the certificate the faults are about, and the message's words.
MESSAGES = {
    "cert-expired": "expired on",
    "cert-name-mismatch": f"is not valid for {LAB_NAME}",
    "cert-chain-missing": "does not send the certificate that signed its own",
}


def _line_of(path: str, text: str) -> int:
    with open(path, encoding="utf-8") as handle:
        return next(n for n, line in enumerate(handle, 1) if line.lstrip().startswith(text))


def _assert_https_lab(lab: Lab) -> None:
    config = lab.site_config()
    assert config.url.startswith(f"https://{LAB_NAME}:") and config.ca_file
    assert lab.get("/").status_code == 200


def _assert_seed_top_1(lab: Lab) -> None:
    expected = get_scenario("seed").expected
    lab.break_scenario("seed")
    code, data = diagnose_json(lab)
    # What diagnose could not see is the first thing to read when this fails (CI saw exit
    # 2 twice under 3 test workers; it did not fail alone).
    seen = {k: data.get(k) for k in ("could_not_see", "internal_errors", "findings")}
    assert code == 1, seen
    top = data["findings"][0]
    assert (top["rule"], top["file"], top["line"]) == (
        expected.diagnosis,
        expected.file,
        expected.line,
    ), data["findings"][:2]


def _assert_cert_fault_top_1(lab: Lab, scenario: str, directive: str) -> None:
    lab.break_scenario(scenario)
    code, data = diagnose_json(lab)
    # What diagnose could not see is the first thing to read when this fails (CI saw exit
    # 2 twice under 3 test workers; it did not fail alone).
    seen = {k: data.get(k) for k in ("could_not_see", "internal_errors", "findings")}
    assert code == 1, seen
    top = data["findings"][0]
    config_file = str(lab.server.config_file(lab.paths))
    assert top["rule"] == get_scenario(scenario).expected.diagnosis, data["findings"][:2]
    assert MESSAGES[scenario] in top["message"], top
    assert top["file"] == config_file
    assert top["line"] == _line_of(config_file, directive)
    assert any(q.startswith("http: ") for q in top["evidence"]), top
    assert "PRIVATE KEY" not in str(data)


def test_tls_lab_serves_https_and_the_seed_is_diagnosed_top_1(healthy_tls_lab: Lab) -> None:
    _assert_https_lab(healthy_tls_lab)
    code, data = diagnose_json(healthy_tls_lab)
    assert code == 0 and data["status"] == "healthy", data["findings"]
    _assert_seed_top_1(healthy_tls_lab)


@pytest.mark.parametrize("scenario", CERT_FAULTS)
def test_apache_certificate_fault_is_diagnosed_top_1(healthy_tls_lab: Lab, scenario: str) -> None:
    _assert_cert_fault_top_1(healthy_tls_lab, scenario, "SSLCertificateFile")


def test_nginx_tls_lab_serves_https_and_the_seed_is_diagnosed_top_1(
    healthy_nginx_tls_lab: Lab,
) -> None:
    _assert_https_lab(healthy_nginx_tls_lab)
    _assert_seed_top_1(healthy_nginx_tls_lab)


@pytest.mark.parametrize("scenario", CERT_FAULTS)
def test_nginx_certificate_fault_is_diagnosed_top_1(
    healthy_nginx_tls_lab: Lab, scenario: str
) -> None:
    _assert_cert_fault_top_1(healthy_nginx_tls_lab, scenario, "ssl_certificate ")
