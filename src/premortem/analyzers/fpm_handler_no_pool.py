"""The `fpm-handler-no-pool` analyzer of `premortem diagnose` (documented on its class)."""

from __future__ import annotations

import difflib

from premortem.analyzers._common import log_quote, real_path
from premortem.analyzers._fastcgi import BACKEND_DOWN_STATUSES, connect_failure, handler_quote
from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
from premortem.collectors.phpfpm import OtherPool, PhpFpmEvidence
from premortem.model import Finding, Fix, Quote


class FpmHandlerNoPool(Analyzer):
    """
    ## What it does
    When the site answers 502 or 503 and PHP goes to php-fpm — Apache's proxy_fcgi handler
    (`SetHandler "proxy:unix:SOCKET|fcgi://localhost"` in a `<FilesMatch>`, `AddHandler`,
    `ProxyPassMatch ... fcgi://HOST:PORT/...`) or nginx's `fastcgi_pass` — it reads every
    php-fpm config it can find (the running masters', the site config's `php_fpm_config`,
    Debian's `/etc/php/*/fpm/php-fpm.conf`, with their `include=` files). When no pool's
    `listen` is the address the server names, but pools listen elsewhere, it names the
    handler (file:line), the address, and the pool it most likely meant (the site config's
    pool first, then a running one, then the closest address), with that pool's `listen`
    (file:line). The server's log line (`AH02454: FCGI: attempt to connect to Unix domain
    socket ... failed`, nginx's `connect() to unix:... failed`) is quoted when there is one.
    A pool that does listen there but is stopped is `php-fpm-down`'s.

    ## Why it breaks sites
    php-fpm runs and is healthy, but nothing listens where the web server looks, so every
    PHP page answers 503 (Apache) or 502 (nginx) while static files load. It happens when a
    handler is copied from another host or PHP version (`php8.1-fpm.sock` after an upgrade
    to 8.2), when a pool's `listen` is changed (a socket per site) without the vhost, or
    when a TCP port and a socket are mixed up. Restarting php-fpm does not help, which makes
    it look like php-fpm is broken.

    ## Example
    Apache's `php8.2-fpm.conf` line 10 says `SetHandler
    "proxy:unix:/run/php/php8.2-fpm.sock|fcgi://localhost"`, the site's pool says `listen =
    /run/php/blog.sock`; `GET /` answers 503 and Apache logs `(2)No such file or directory:
    AH02454: FCGI: attempt to connect to Unix domain socket /run/php/php8.2-fpm.sock
    (localhost:8000) failed`.

    ## Fix
    Point the handler at the address the pool listens on, or make the pool listen where the
    handler looks; then restart Apache gracefully (`apachectl graceful`) or reload nginx.
    (The change is described, not offered to `premortem fix`, which writes only inside the
    site.)
    """

    code = "fpm-handler-no-pool"
    summary = "the web server hands PHP to a php-fpm address no pool listens on"

    def analyze(self, evidence: EvidenceSet) -> list[Finding]:
        http = evidence.http
        fpm = evidence.server.php_fpm if evidence.server else None
        if http is None or http.status not in BACKEND_DOWN_STATUSES or fpm is None:
            return []
        if fpm.pool is not None or not fpm.other_pools or not fpm.fastcgi_address:
            return []
        failure = connect_failure(evidence)
        if failure is not None and failure.address != fpm.fastcgi_address:
            return []  # the server failed to reach another address than the one read
        meant = _meant_pool(evidence, fpm)
        address = fpm.fastcgi_address
        listen = meant.pool.listen
        quotes = [Quote("http", f"{http.url} answered {http.status} {http.reason}".rstrip())]
        if failure is not None:
            quotes.append(log_quote(failure.line.raw))
        handler = handler_quote(evidence)
        file, line, fix = None, None, None
        where = "nginx's fastcgi_pass"
        if handler is not None:
            quote, file, line = handler
            quotes.append(quote)
            where = f"the handler at {file}:{line}"
            fix = _fix(file, line, address, listen)
        quotes.append(Quote("config", f"{meant.pool.listen_at}: listen = {listen}"))
        running = f"its master runs (pid {meant.master_pid})" if meant.master_pid else "stopped"
        quotes.append(Quote("host", f"pool [{meant.pool.name}] of {meant.config_file}: {running}"))
        return [
            Finding(
                rule=self.code,
                severity="error",
                message=(
                    f"PHP is handed to {address} ({where}), but no php-fpm pool listens there: "
                    f"{http.status} on PHP pages; pool [{meant.pool.name}] listens on {listen}"
                ),
                file=file,
                line=line,
                confidence=0.95 if failure is not None else 0.8,
                suggestion=f"did you mean {_as_address(listen)}?",
                fix=fix,
                evidence=quotes,
            )
        ]


def _meant_pool(evidence: EvidenceSet, fpm: PhpFpmEvidence) -> OtherPool:
    """The pool the server was most likely meant to reach: the site config's php-fpm's, a
    running one, the closest address."""
    site_fpm = evidence.site.php_fpm_config if evidence.site else ""

    def rank(other: OtherPool) -> tuple[bool, bool, float]:
        own = bool(site_fpm) and real_path(other.config_file, evidence) == real_path(
            site_fpm, evidence
        )
        close = difflib.SequenceMatcher(None, other.pool.listen, fpm.fastcgi_address).ratio()
        return own, other.master_pid is not None, close

    return max(fpm.other_pools, key=rank)


def _as_address(listen: str) -> str:
    """A pool's listen as the server would name it."""
    return f"unix:{listen}" if listen.startswith("/") else listen


def _fix(file: str, line: int, address: str, listen: str) -> Fix:
    # Described, not offered as an edit: `fix` writes only inside the site, never /etc.
    return Fix(
        description=f"in {file} line {line}, replace {address} by {_as_address(listen)} "
        "(where the pool listens), then restart Apache gracefully",
        commands=("apachectl graceful",),
    )
