"""The `php-fpm-down` analyzer of `premortem diagnose` (documented on its class)."""

from __future__ import annotations

import glob
import re

from premortem.analyzers._common import (
    fresh_log_lines,
    lab_start_command,
    log_quote,
    real_path,
)
from premortem.analyzers._servers import service_command
from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
from premortem.collectors.phpfpm import PhpFpmEvidence
from premortem.model import Finding, Fix, Quote
from premortem.readers.phpfpm import same_address

_UPSTREAM_DOWN_RE = re.compile(
    r"connect\(\) to (?P<address>\S+) failed \((?P<code>2|111): (?P<reason>[^)]*)\) "
    r"while connecting to upstream"
)
DEBIAN_FPM_CONFIG = re.compile(r"^/etc/php/(?P<version>[0-9.]+)/fpm/php-fpm\.conf$")
_FPM_STOP_MARKERS = ("exiting, bye-bye", "Terminating", "ERROR:", "FPM initialization failed")


class PhpFpmDown(Analyzer):
    """
    ## What it does
    When nginx answers 502 Bad Gateway and its error log says, for the replayed request,
    `connect() to unix:SOCKET failed (2: No such file or directory) while connecting to
    upstream` (or `(111: Connection refused)`, also for a TCP `HOST:PORT`), it names
    the FastCGI address, says whether a php-fpm master runs for the pool that listens there
    (found from the running masters' configs and their `include=` files, or the site
    config) and where that pool's `listen` is (file:line). Other upstream errors — `(13:
    Permission denied)` on the socket, timeouts, a connection reset by a crashing worker —
    are not this rule's: the pool is up there.

    ## Why it breaks sites
    nginx serves static files itself but hands every `.php` request to php-fpm. With the
    pool's master stopped (a crashed or failed restart, an upgrade that removed the old
    `php8.x-fpm` service, a config test that failed on reload) the socket is gone or
    refuses, so every PHP page — the whole of a WordPress site — answers 502 while the
    front page's images still load and nginx itself looks healthy.

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
    summary = "nginx answers 502 because nobody accepts on the php-fpm pool's socket"

    def analyze(self, evidence: EvidenceSet) -> list[Finding]:
        http = evidence.http
        if http is None or http.status != 502 or evidence.logs is None:
            return []
        down = [
            (line, match)
            for line in evidence.logs.request_lines()
            if (match := _UPSTREAM_DOWN_RE.search(line.message))
        ]
        if not down:
            return []
        line, match = down[-1]
        address = match.group("address")
        fpm = evidence.server.php_fpm if evidence.server else None
        quotes = [
            Quote("http", f"{http.url} answered 502 {http.reason}".rstrip()),
            log_quote(line.raw),
        ]
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
            quotes.append(
                Quote(
                    "host",
                    f"{address[5:]} " + ("exists" if fpm.socket_exists else "does not exist"),
                )
            )
        fpm_log = _last_stop_line(evidence, fpm)
        if fpm_log:
            quotes.append(fpm_log)
        what = "its socket is missing" if match.group("code") == "2" else "it refuses connections"
        if running:
            message = (
                f"nginx cannot reach php-fpm at {address} ({what}) although a php-fpm master "
                "runs: the pool is not accepting there"
            )
            fix = Fix(
                description="restart the php-fpm pool so that it listens on its socket again",
                commands=(_start_command(evidence, fpm, restart=True),),
            )
            confidence = 0.75
        else:
            message = (
                f"php-fpm is not running: nginx cannot reach {address} ({what}), 502 on PHP pages"
            )
            known = fpm is not None and fpm.pool is not None
            fix = Fix(
                description="start php-fpm (the pool nginx passes PHP requests to)"
                if known or lab_start_command(evidence)
                else f"start the php-fpm whose pool listens on {address} (Debian's service below)",
                commands=(_start_command(evidence, fpm, restart=False),),
            )
            confidence = 0.93 if fpm is not None and fpm.pool is not None else 0.85
        return [
            Finding(
                rule=self.code,
                severity="error",
                message=message,
                file=file,
                line=number,
                confidence=confidence,
                suggestion=f"nginx passes PHP requests to {address}; nothing accepts there",
                fix=fix,
                evidence=quotes[:6],
            )
        ]


def _start_command(evidence: EvidenceSet, fpm: PhpFpmEvidence | None, *, restart: bool) -> str:
    # A premortem lab starts its php-fpm with its own config and php.ini.
    lab = lab_start_command(evidence)
    if lab and not restart:
        return lab
    config = fpm.config_file if fpm else ""
    verb = "restart" if restart else "start"
    binary = _fpm_binary()
    debian = DEBIAN_FPM_CONFIG.match(config)
    if debian:
        version = debian.group("version")
        return service_command(evidence, f"php{version}-fpm", verb, f"php-fpm{version}")
    if config:
        return f"{binary} -y {config}"
    services = sorted(glob.glob("/etc/php/*/fpm/php-fpm.conf"))
    version = services[-1].split("/")[3] if services else "8.2"
    return service_command(evidence, f"php{version}-fpm", verb, f"php-fpm{version}")


def _fpm_binary() -> str:
    found = sorted(glob.glob("/usr/sbin/php-fpm*"))
    return found[-1] if found else "php-fpm"


def _last_stop_line(evidence: EvidenceSet, fpm: PhpFpmEvidence | None) -> Quote | None:
    """The last line of php-fpm's own log that says why it stopped or did not start."""
    if evidence.logs is None or fpm is None or not fpm.error_log:
        return None
    log = real_path(fpm.error_log)
    lines = [
        line
        for line in fresh_log_lines(evidence)
        if real_path(line.source) == log and any(m in line.message for m in _FPM_STOP_MARKERS)
    ]
    return log_quote(lines[-1].raw) if lines else None
