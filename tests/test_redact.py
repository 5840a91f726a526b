"""Secrets never reach output: wp-config values, headers, URLs, strace buffers, literals."""

from __future__ import annotations

from premortem.readers.wpconfig import parse_wp_config
from premortem.redact import MASK, Redactor, redact, redact_headers

WP_CONFIG = """<?php
define( 'DB_NAME', 'wordpress' );
define( 'DB_PASSWORD', 'p4ss-w0rd!' );
define("AUTH_KEY", "k3y with 'quotes' and spaces");
define( 'NONCE_SALT', 's@lt\\'y' );
define( 'WP_DEBUG', false );
"""


def test_wp_config_secret_values_are_found_and_masked() -> None:
    secrets = parse_wp_config(WP_CONFIG).secrets
    assert "p4ss-w0rd!" in secrets
    assert "k3y with 'quotes' and spaces" in secrets
    assert "wordpress" not in secrets  # DB_NAME is not a secret
    out = redact(WP_CONFIG)
    for secret in ("p4ss-w0rd!", "k3y with", "s@lt"):
        assert secret not in out
    assert "define( 'DB_NAME', 'wordpress' )" in out


def test_headers_cookies_and_authorization() -> None:
    text = "Cookie: wordpress_logged_in_abc=admin%7C123\nAuthorization: Basic YWRtaW46cHc=\nHost: x"
    out = redact(text)
    assert "admin%7C123" not in out and "YWRtaW46cHc=" not in out
    assert "Host: x" in out
    headers = redact_headers([("Set-Cookie", "sid=1"), ("Content-Type", "text/html")])
    assert headers == {"Set-Cookie": MASK, "Content-Type": "text/html"}


def test_urls_and_password_pairs() -> None:
    out = redact("mysql://wp:hunter22@127.0.0.1/wp and DB_PASSWORD=hunter33 password: 'x9y8z7'")
    assert "hunter22" not in out and "hunter33" not in out and "x9y8z7" not in out


def test_mariadb_using_password_yes_is_kept_and_a_value_is_not() -> None:
    # Recorded MariaDB line: YES/NO says whether a password was sent (NO: DB_PASSWORD empty).
    line = "Access denied for user 'wordpress'@'127.0.0.1' (using password: YES)"
    assert redact(line) == line
    assert "hunter44" not in redact("password: hunter44)")


def test_strace_buffers_are_dropped() -> None:
    lines = [
        '123 10:00:00.1 read(5, "\\0\\0\\0\\3SELECT * FROM wp_users", 4096) = 30',
        '123 10:00:00.2 sendto(11, "\\1\\0\\0\\1secretpayload"..., 90, MSG_DONTWAIT, NULL, 0) = 90',
        '123 10:00:00.3 writev(9, [{iov_base="HTTP/1.1 200 OK", iov_len=15}], 1) = 15',
    ]
    out = redact("\n".join(lines))
    assert "SELECT" not in out and "secretpayload" not in out and "HTTP/1.1 200" not in out
    # Paths are not buffers: they stay.
    keep = '123 10:00:00.4 openat(AT_FDCWD, "/srv/site/wp-settings.php", O_RDONLY) = 3'
    assert redact(keep) == keep


def test_literal_site_secret_is_masked_anywhere() -> None:
    redactor = Redactor(["0123456789abcdef"])
    data = {"a": ["x 0123456789abcdef y"], "b": ("0123456789abcdef",), "n": 3}
    assert redactor.redact_data(data) == {"a": [f"x {MASK} y"], "b": [MASK], "n": 3}
    # Very short values would blank ordinary words, so they are not taken literally.
    assert Redactor(["ab"]).redact("ab abc") == "ab abc"
