"""The `php-not-executed` analyzer of `premortem diagnose` (documented on its class)."""

from __future__ import annotations

from premortem.analyzers._servers import service_command
from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
from premortem.model import Finding, Fix, Quote


class PhpNotExecuted(Analyzer):
    """
    ## What it does
    Flags a successful response whose body starts with (or contains) `<?php` while it is
    served as text or as `application/x-httpd-php`, and says whether the server's
    configuration loads mod_php and hands `.php` files to it (SetHandler/AddHandler).

    ## Why it breaks sites
    Visitors see code instead of pages, and anyone can read wp-config.php's database
    password and keys: a security leak as much as an outage.

    ## Example
    `GET /` answers 200 `text/plain` with `<?php /** Front to the WordPress
    application...` after `a2dismod php8.2` or an nginx server block without a
    `fastcgi_pass`.

    ## Fix
    Load the PHP module (`a2enmod php8.2` and restart) or route `.php` to php-fpm;
    until then, take the site offline and rotate the secrets that may have leaked.
    """

    code = "php-not-executed"
    summary = "the server sends PHP source code instead of running it"

    def analyze(self, evidence: EvidenceSet) -> list[Finding]:
        http = evidence.http
        if http is None or http.status is None or http.status >= 400:
            return []
        body = http.body_excerpt.lstrip()
        if not (body.startswith("<?php") or ("<?php" in body and "html" not in http.content_type)):
            return []
        quotes = [
            Quote(
                "http",
                f"{http.status} {http.content_type or 'no content type'} "
                f"body starts with {body[:40]!r}",
            )
        ]
        restart = service_command(evidence, "apache2", "restart", "apachectl -k restart")
        commands: tuple[str, ...] = ("a2enmod php8.2", restart)
        apache = evidence.server.apache if evidence.server else None
        nginx = evidence.server.nginx if evidence.server else None
        if nginx is not None:
            commands = (service_command(evidence, "php8.2-fpm", "start", "php-fpm8.2"),)
            if not nginx.fastcgi_pass:
                quotes.append(
                    Quote("config", f"{nginx.config_file}: the server block has no fastcgi_pass")
                )
                commands = ()
        if apache is not None:
            if not apache.php_module_loaded:
                quotes.append(Quote("config", f"{apache.config_file} loads no PHP module"))
            elif not apache.php_handler:
                quotes.append(Quote("config", f"{apache.config_file} hands .php to no PHP handler"))
                commands = ()
        return [
            Finding(
                rule=self.code,
                severity="error",
                message="PHP source is served as text: the server does not execute PHP "
                "(secrets in the source are exposed)",
                confidence=0.95 if len(quotes) > 1 else 0.85,
                fix=Fix(
                    description="enable PHP for the site (mod_php or php-fpm) and restart",
                    commands=commands,
                ),
                evidence=quotes,
            )
        ]
