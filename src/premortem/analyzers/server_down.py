"""The `server-down` analyzer of `premortem diagnose` (documented on its class)."""

from __future__ import annotations

from premortem.analyzers._common import fresh_log_lines, log_quote
from premortem.analyzers._servers import (
    MeantServer,
    candidate_quotes,
    meant_server,
    reload_command,
    rivals_text,
    start_command,
)
from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
from premortem.collectors.configtest import ConfigTest
from premortem.model import Finding, Fix, Quote

_STOP_MARKERS = (
    "caught SIGTERM, shutting down",
    "caught SIGWINCH",
    "AH00169",
    "AH00015",
    "AH00072",
    "Unable to open logs",
    "could not bind",
    "Address already in use",
)


class ServerDown(Analyzer):
    """
    ## What it does
    When the request is refused (or times out) and nobody listens on the port, it decides
    which server is meant for the port from the evidence: the site config's `server`, else
    each installed or running Apache/nginx weighed by whether its master runs, whether its
    config names the port (`Listen 80` / `listen 80`, with file:line), whether its config
    test (`apache2ctl -t` / `nginx -t`) fails, and whether it is installed. When two could
    own the port it says so and why it names one. It quotes the server's error-log lines
    from the incident's window only (a `caught SIGTERM, shutting down`, a bind error). A
    server that runs but listens on other ports is not down: `not-listening` reports it.

    ## Why it breaks sites
    No process accepting connections means every visitor gets "connection refused". And a
    server whose config test fails does not start again until the config is fixed:
    "start it" is then the wrong advice.

    ## Example
    `curl: (7) Failed to connect to 127.0.0.1 port 80: Connection refused` while nginx
    is installed and stopped, and `nginx -t` says `unknown directive "lsiten" in
    /etc/nginx/sites-enabled/default:22`: the finding names that file:line.

    ## Fix
    When the config test fails, fix the file:line it names first, then start the server
    (`nginx -t && service nginx start`). Otherwise start it the way the host can:
    `systemctl start apache2` with systemd, `service apache2 start` with SysV init
    scripts, else the program itself (`apachectl -k start`, `nginx`); `apache2 -f CONF -k
    start` for a server run with its own config, the site config's `start_command` (a
    premortem lab's `premortem lab up --dir DIR`) when it sets one.
    """

    code = "server-down"
    summary = "nothing answers on the URL's port: the site's web server is not running"

    def analyze(self, evidence: EvidenceSet) -> list[Finding]:
        http = evidence.http
        if http is None or http.error_kind not in ("refused", "timeout", "connect"):
            return []
        server = evidence.server
        quotes = [Quote("http", f"{http.url}: {http.error}")]
        port = server.port if server else None
        if server and server.listeners:
            names = ", ".join(sorted({listener.name or "?" for listener in server.listeners}))
            quotes.append(Quote("host", f"port {port} is held by {names}"))
            message = (
                f"port {port} accepts connections ({names}) "
                f"but the request failed: {http.error_kind}"
            )
            return [Finding(self.code, "error", message, confidence=0.5, evidence=quotes)]
        meant = meant_server(evidence)
        # The server meant for this URL is the one started with this config (another instance
        # on the host, e.g. a second Apache with its own -f config, is not it).
        same_config = [
            m
            for m in (server.masters if server else [])
            if m.kind == meant.kind and meant.same_config(m.config_file)
        ]
        if same_config and any(p != port for m in same_config for p in m.ports):
            return []  # it runs, on other ports: not-listening explains that
        if server is not None:
            quotes.append(Quote("host", f"nobody listens on port {port}"))
        quotes += candidate_quotes(meant)
        quotes += _stop_lines(evidence)
        test = meant.candidate.config_test if meant.candidate else None
        if test is not None and not test.ok:
            return [_config_broken(self.code, evidence, meant, test, bool(same_config), quotes)]
        if same_config:
            return [_runs_elsewhere_nowhere(self.code, evidence, meant, quotes)]
        return [_not_running(self.code, evidence, meant, quotes)]


def _config_broken(
    code: str,
    evidence: EvidenceSet,
    meant: MeantServer,
    test: ConfigTest,
    running: bool,
    quotes: list[Quote],
) -> Finding:
    """Its config test fails: starting (or reloading) it would fail the same way."""
    port = evidence.server.port if evidence.server else None
    then = (
        reload_command(evidence, meant.kind, meant.config)
        if running
        else start_command(evidence, meant.kind, meant.config)
    )
    where = test.where or "its configuration"
    state = "runs but does not listen" if running else "is not running"
    quotes.insert(1, Quote("config", f"{' '.join(test.command)}: {test.error or 'failed'}"))
    return Finding(
        code,
        "error",
        f"{meant.kind} {state} on port {port} and its config test fails at {where}: "
        f"{test.error or 'see the config test output'}" + rivals_text(meant, port),
        file=test.file or None,
        line=test.line,
        confidence=0.95,
        suggestion=f"fix {where} first: {meant.kind} will not "
        f"{'reload' if running else 'start'} until its config test passes",
        fix=Fix(
            description=f"fix {where} ({test.error or 'config test failure'}), then "
            f"{'reload' if running else 'start'} {meant.kind} once `{' '.join(test.command)}` "
            "passes",
            commands=(f"{' '.join(test.command)} && {then}",),
        ),
        evidence=quotes[:8],
    )


def _runs_elsewhere_nowhere(
    code: str, evidence: EvidenceSet, meant: MeantServer, quotes: list[Quote]
) -> Finding:
    """Its master runs but listens on no port at all (no enabled site / vhost)."""
    port = evidence.server.port if evidence.server else None
    directive = "a server block with `listen`" if meant.kind == "nginx" else "a `Listen`"
    return Finding(
        code,
        "error",
        f"{meant.kind} runs but nothing listens on port {port}: "
        f"{meant.config or 'its config'} has no {directive} for it"
        + (" (no enabled site?)" if meant.kind == "nginx" else "")
        + rivals_text(meant, port),
        confidence=0.8,
        fix=Fix(
            description=f"add (or enable) {directive} for port {port} in {meant.kind}'s "
            f"config, then reload {meant.kind}",
            commands=(reload_command(evidence, meant.kind, meant.config),),
        ),
        evidence=quotes[:8],
    )


def _not_running(
    code: str, evidence: EvidenceSet, meant: MeantServer, quotes: list[Quote]
) -> Finding:
    server = evidence.server
    port = server.port if server else None
    kind, config = meant.kind, meant.config
    installed = bool(server and server.installed.get(kind))
    listens_here = meant.candidate.listens_here if meant.candidate else []
    if not listens_here:
        read = (server.nginx if kind == "nginx" else server.apache) if server else None
        listen = read.listen if read else []
        directive = "listen" if kind == "nginx" else "Listen"
        if any(_port_of(address) == port for address in listen):
            listens_here = [f"{config} says {directive} {port}"]
            quotes.insert(1, Quote("config", f"{config}: {directive} {', '.join(listen)}"))
    if installed and listens_here:
        message = f"{kind} is not running: {listens_here[0]}, nobody listens there"
        confidence = 0.92
    elif installed:
        message, confidence = f"{kind} is installed but not running for port {port}", 0.8
    else:
        message, confidence = f"no web server listens on port {port}", 0.6
    start = start_command(evidence, kind, config)
    return Finding(
        code,
        "error",
        message + (rivals_text(meant, port) if installed else ""),
        confidence=confidence - (0.1 if meant.tied else 0.0),
        fix=Fix(description=f"start {kind}", commands=(start,) if installed else ()),
        evidence=quotes[:8],
    )


def _stop_lines(evidence: EvidenceSet) -> list[Quote]:
    """The last log line of the incident's window that says why the server stopped or did
    not start (an older one is history, not the cause)."""
    tail = [
        line for line in fresh_log_lines(evidence) if any(m in line.message for m in _STOP_MARKERS)
    ]
    return [log_quote(tail[-1].raw)] if tail else []


def _port_of(address: str) -> int | None:
    tail = address.rsplit(":", 1)[-1]
    return int(tail) if tail.isascii() and tail.isdigit() else None
