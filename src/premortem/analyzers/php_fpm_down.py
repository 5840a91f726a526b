"""The `php-fpm-down` analyzer of `premortem diagnose` (documented on its class)."""

from __future__ import annotations

import re

from premortem.analyzers._common import (
    fresh_log_lines,
    lab_start_command,
    log_quote,
    real_path,
)
from premortem.analyzers._fastcgi import connect_failure, handler_quote
from premortem.analyzers._servers import service_command
from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
from premortem.collectors.phpfpm import PhpFpmEvidence
from premortem.host import ServiceManager
from premortem.model import Finding, Fix, Quote
from premortem.readers.phpfpm import same_address

DEBIAN_FPM_CONFIG = re.compile(r"^/etc/php/(?P<version>[0-9.]+)/fpm/php-fpm\.conf$")
_FPM_STOP_MARKERS = ("exiting, bye-bye", "Terminating", "ERROR:", "FPM initialization failed")


class PhpFpmDown(Analyzer):
    """
    ## What it does
    When nginx answers 502 Bad Gateway and its error log says, for the replayed request,
    `connect() to unix:SOCKET failed (2: No such file or directory) while connecting to
    upstream` (or `(111: Connection refused)`, also for a TCP `HOST:PORT`), or Apache with
    mod_proxy_fcgi answers 503 and logs `(2)No such file or directory: AH02454: FCGI:
    attempt to connect to Unix domain socket SOCKET (localhost) failed` (`(111)Connection
    refused: AH00957` for TCP), it names the FastCGI address, Apache's handler that names
    it (`SetHandler "proxy:unix:...|fcgi://localhost"`, file:line), says whether a php-fpm
    master runs for the pool that listens there (found from the running masters' configs
    and their `include=` files, or the site config) and where that pool's `listen` is
    (file:line). Other upstream errors — `(13: Permission denied)` on the socket,
    timeouts, a connection reset by a crashing worker — are not this rule's: the pool is up
    there; nor is an address no pool listens on while pools listen elsewhere
    (`fpm-handler-no-pool`).

    ## Why it breaks sites
    nginx (or Apache with the event MPM and proxy_fcgi, as Debian sets it up with `a2enconf
    php8.2-fpm`) serves static files itself but hands every `.php` request to php-fpm. With the
    pool's master stopped (a crashed or failed restart, an upgrade that removed the old
    `php8.x-fpm` service, a config test that failed on reload) the socket is gone or
    refuses, so every PHP page — the whole of a WordPress site — answers 502 (Apache: 503)
    while the front page's images still load and the web server itself looks healthy.

    ## Example
    `GET /` answers `502 Bad Gateway` and nginx logs `connect() to
    unix:/run/php/php8.2-fpm.sock failed (2: No such file or directory) while connecting
    to upstream`; no `php-fpm: master process` is running.

    ## Fix
    Start the pool: Debian's service the way the host can (`systemctl start php8.2-fpm`
    with systemd, `service php8.2-fpm start` without it), `php-fpm8.2 -y CONF` for a
    master run with its own config, `premortem lab up --dir DIR` for a
    premortem lab (the site config's `[lab]` table); then check php-fpm's own log if it
    does not stay up.
    """

    code = "php-fpm-down"
    summary = "502/503 on PHP pages because nobody accepts on the php-fpm pool's socket"

    def analyze(self, evidence: EvidenceSet) -> list[Finding]:
        failure = connect_failure(evidence)
        if failure is None or evidence.http is None:
            return []
        address = failure.address
        fpm = evidence.server.php_fpm if evidence.server else None
        if fpm is not None and fpm.pool is None and fpm.other_pools:
            # No pool listens there, others do elsewhere: fpm-handler-no-pool's finding.
            return []
        http = evidence.http
        quotes = [
            Quote("http", f"{http.url} answered {http.status} {http.reason}".rstrip()),
            log_quote(failure.line.raw),
        ]
        handler = handler_quote(evidence)
        if handler is not None:
            quotes.append(handler[0])
        file, number, running = _pool_facts(fpm, address, quotes)
        fpm_log = _last_stop_line(evidence, fpm)
        if fpm_log:
            quotes.append(fpm_log)
        server = failure.server
        if running:
            message = (
                f"{server} cannot reach php-fpm at {address} ({failure.what}) although a "
                "php-fpm master runs: the pool is not accepting there"
            )
            fix = Fix(
                description="restart the php-fpm pool so that it listens on its socket again",
                commands=(_start_command(evidence, fpm, restart=True),),
            )
            confidence = 0.75
        else:
            message = (
                f"php-fpm is not running: {server} cannot reach {address} ({failure.what}), "
                f"{http.status} on PHP pages"
            )
            known = fpm is not None and fpm.pool is not None
            fix = Fix(
                description=f"start php-fpm (the pool {server} passes PHP requests to)"
                if known or lab_start_command(evidence)
                else f"start the php-fpm whose pool listens on {address} (Debian's service below)",
                commands=(_start_command(evidence, fpm, restart=False),),
            )
            confidence = 0.93 if known else 0.85
        where = f" (the handler at {handler[1]}:{handler[2]})" if handler else ""
        return [
            Finding(
                rule=self.code,
                severity="error",
                message=message,
                file=file,
                line=number,
                confidence=confidence,
                suggestion=f"{server} passes PHP requests to {address}{where}; nothing accepts "
                "there",
                fix=fix,
                evidence=quotes[:7],
            )
        ]


def _pool_facts(
    fpm: PhpFpmEvidence | None, address: str, quotes: list[Quote]
) -> tuple[str | None, int | None, bool]:
    """(file, line) of the pool's listen and whether its master runs; quotes what it saw."""
    file: str | None = None
    number: int | None = None
    running = False
    if fpm is not None and fpm.pool is not None and same_address(fpm.pool.listen, address):
        running = fpm.running
        path, _, at = fpm.pool.listen_at.rpartition(":")
        if path and at.isascii() and at.isdigit():
            file, number = path, int(at)
            quotes.append(Quote("config", f"{fpm.pool.listen_at}: listen = {fpm.pool.listen}"))
        quotes.append(
            Quote("host", f"php-fpm master (pid {fpm.master_pid}, {fpm.config_file}) runs")
            if running
            else Quote("host", f"no php-fpm master runs with {fpm.config_file}")
        )
    if fpm is not None and fpm.socket_exists is not None and address.startswith("unix:"):
        state = "exists" if fpm.socket_exists else "does not exist"
        quotes.append(Quote("host", f"{address[5:]} {state}"))
    return file, number, running


def _start_command(evidence: EvidenceSet, fpm: PhpFpmEvidence | None, *, restart: bool) -> str:
    # A premortem lab starts its php-fpm with its own config and php.ini.
    lab = lab_start_command(evidence)
    if lab and not restart:
        return lab
    config = fpm.config_file if fpm else ""
    verb = "restart" if restart else "start"
    binary = _fpm_binary(evidence)
    debian = DEBIAN_FPM_CONFIG.match(config)
    if debian:
        version = debian.group("version")
        return service_command(evidence, f"php{version}-fpm", verb, f"php-fpm{version}")
    if config:
        return f"{binary} -y {config}"
    services = _services(evidence).php_fpm_configs
    version = services[-1].split("/")[3] if services else "8.2"
    return service_command(evidence, f"php{version}-fpm", verb, f"php-fpm{version}")


def _services(evidence: EvidenceSet) -> ServiceManager:
    services = evidence.server.services if evidence.server else None
    return services if services is not None else ServiceManager()


def _fpm_binary(evidence: EvidenceSet) -> str:
    found = [p for p in _services(evidence).programs if p.rsplit("/", 1)[-1].startswith("php-fpm")]
    return sorted(found)[-1] if found else "php-fpm"


def _last_stop_line(evidence: EvidenceSet, fpm: PhpFpmEvidence | None) -> Quote | None:
    """The last line of php-fpm's own log that says why it stopped or did not start."""
    if evidence.logs is None or fpm is None or not fpm.error_log:
        return None
    log = real_path(fpm.error_log, evidence)
    lines = [
        line
        for line in fresh_log_lines(evidence)
        if real_path(line.source, evidence) == log
        and any(m in line.message for m in _FPM_STOP_MARKERS)
    ]
    return log_quote(lines[-1].raw) if lines else None
