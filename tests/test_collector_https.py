"""https:// URLs go to the local server under the site's name; certificate failures are evidence."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from premortem.collectors.http import fetch
from premortem.collectors.target import Routed, Target, listening_address, route
from premortem.collectors.tls import collect_tls
from premortem.ops.lab import pki
from premortem.readers.apache import ConfigDirective, read_apache_config
from premortem.readers.apache import site_summary as apache_summary
from premortem.readers.nginx import read_nginx_config
from premortem.readers.nginx import site_summary as nginx_summary
from tls_helpers import https_server, write_pki

NAME = "blog.premortem.test"  # .test never resolves: only the local route can reach it


def test_https_url_connects_locally_with_sni_and_host(tmp_path: Path) -> None:
    ca, cert, key = write_pki(tmp_path, [NAME])
    with https_server(cert, key) as (port, seen):
        http = fetch(f"https://{NAME}:{port}/", timeout=5, target=Target(ca_file=str(ca)))
    assert http.status == 200 and http.healthy, http.error
    assert seen.sni == [NAME]
    assert seen.hosts == [f"{NAME}:{port}"]


def test_expired_certificate_is_tls_evidence_not_a_traceback(tmp_path: Path) -> None:
    past = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    ca, cert, key = write_pki(tmp_path, [NAME], not_before=past, not_after=past)
    with https_server(cert, key) as (port, _seen):
        http = fetch(f"https://{NAME}:{port}/", timeout=5, target=Target(ca_file=str(ca)))
    assert http.status is None and not http.healthy
    assert http.error_kind == "tls"
    assert "expired" in (http.error or "")


def test_name_not_in_certificate_is_tls_evidence(tmp_path: Path) -> None:
    ca, cert, key = write_pki(tmp_path, ["other.premortem.test"])
    with https_server(cert, key) as (port, _seen):
        http = fetch(f"https://{NAME}:{port}/", timeout=5, target=Target(ca_file=str(ca)))
    assert http.error_kind == "tls"
    assert NAME in (http.error or "")


def test_unreadable_ca_file_is_evidence(tmp_path: Path) -> None:
    http = fetch(f"https://{NAME}:9/", timeout=2, target=Target(ca_file=str(tmp_path / "no")))
    assert http.error_kind == "tls" and "CA bundle" in (http.error or "")


def test_routes() -> None:
    assert route("http://blog.example/x", None) == Routed("http://blog.example/x", {}, {})
    assert route("https://127.0.0.1:8443/", None).url == "https://127.0.0.1:8443/"
    routed = route("https://blog.example/a?b=1", Target(address="10.1.2.3"))
    assert routed.url == "https://10.1.2.3/a?b=1"
    assert routed.headers == {"Host": "blog.example"}
    assert routed.extensions == {"sni_hostname": "blog.example"}
    assert route("https://blog.example:8443/", Target(address="::1")).url == "https://[::1]:8443/"
    assert listening_address(["0.0.0.0"]) == "127.0.0.1"
    assert listening_address(["10.0.0.5"]) == "10.0.0.5"
    assert listening_address([]) is None


def test_tls_collector_reads_files_and_compares_the_key(tmp_path: Path) -> None:
    _ca, cert, key = write_pki(tmp_path, [NAME, "127.0.0.1"])
    conf = str(tmp_path / "site.conf")
    directives = [
        ConfigDirective(conf, 6, "SSLCertificateFile", [str(cert)]),
        ConfigDirective(conf, 7, "SSLCertificateKeyFile", [str(key)]),
        ConfigDirective(conf, 8, "SSLCertificateChainFile", [str(tmp_path / "gone.pem")]),
    ]
    tls = collect_tls(NAME, 443, "apache", directives)
    assert tls.key_matches is True
    assert tls.leaf is not None and tls.leaf.dns_names == [NAME]
    assert tls.leaf.ip_addresses == ["127.0.0.1"]
    chain = tls.file("chain")
    assert chain is not None and chain.problem == "missing" and chain.line == 8
    other = tmp_path / "other.key"
    other.write_bytes(pki.key_pem(pki.new_key()))
    directives[1] = ConfigDirective(conf, 7, "SSLCertificateKeyFile", [str(other)])
    assert collect_tls(NAME, 443, "apache", directives).key_matches is False
    assert "PRIVATE" not in json.dumps(tls.to_dict())


def test_readers_give_tls_directives_with_file_and_line(tmp_path: Path) -> None:
    conf = tmp_path / "httpd.conf"
    conf.write_text(
        f'ServerRoot "{tmp_path}"\nListen 127.0.0.1:8443\n<VirtualHost 127.0.0.1:8443>\n'
        f"ServerName {NAME}\nSSLEngine on\nSSLCertificateFile tls/cert.pem\n"
        "SSLCertificateKeyFile /k.pem\n</VirtualHost>\n"
    )
    site = apache_summary(read_apache_config(str(conf)), 8443, NAME)
    assert [(d.directive, d.line, d.args[0]) for d in site.tls] == [
        ("SSLEngine", 5, "on"),
        ("SSLCertificateFile", 6, f"{tmp_path}/tls/cert.pem"),
        ("SSLCertificateKeyFile", 7, "/k.pem"),
    ]
    nginx_conf = tmp_path / "nginx.conf"
    nginx_conf.write_text(
        "events {}\nhttp {\n ssl_certificate_key /k.pem;\n server {\n"
        f"  listen 8443 ssl;\n  server_name {NAME};\n  ssl_certificate cert.pem;\n }}\n}}\n"
    )
    config = read_nginx_config(str(nginx_conf))
    nginx_site = nginx_summary(config, config.server_for(8443, NAME))
    assert [(d.directive, d.line, d.args[0]) for d in nginx_site.tls] == [
        ("ssl_certificate", 7, f"{tmp_path}/cert.pem"),
        ("ssl_certificate_key", 3, "/k.pem"),
    ]
