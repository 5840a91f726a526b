"""The `server-down` analyzer of `premortem diagnose` (documented on its class)."""

from __future__ import annotations

from premortem.analyzers._common import lab_start_command, log_quote
from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
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
    When the request is refused (or times out) it looks at who listens on the port, whether
    Apache/nginx is installed and running with the site's config, what that config's
    `Listen` says, and the last lines of its error log (a `caught SIGTERM, shutting
    down` or a start-up error explain the rest). A server that runs but listens on other
    ports is not down: `not-listening` reports it.

    ## Why it breaks sites
    No process accepting connections means every visitor gets "connection refused".

    ## Example
    `curl: (7) Failed to connect to 127.0.0.1 port 80: Connection refused` while
    `/usr/sbin/apache2` is installed and no apache2 process exists.

    ## Fix
    Start the server: `systemctl start apache2`, `apache2 -f CONF -k start` for a
    server run with its own config, `premortem lab up --dir DIR` for a premortem lab (the
    site config's `[lab]` table).
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
        kind = _meant_server(evidence)
        config, default, start = _start_command(evidence, kind)
        if server and server.listeners:
            names = ", ".join(sorted({listener.name or "?" for listener in server.listeners}))
            quotes.append(Quote("host", f"port {port} is held by {names}"))
            message = (
                f"port {port} accepts connections ({names}) "
                f"but the request failed: {http.error_kind}"
            )
            return [Finding(self.code, "error", message, confidence=0.5, evidence=quotes)]
        # The server meant for this URL is the one started with this config (another instance
        # on the host, e.g. a second Apache with its own -f config, is not it).
        same_config = [
            m
            for m in (server.masters if server else [])
            if m.kind == kind and (m.config_file or default) == (config or default)
        ]
        if same_config and any(p != port for m in same_config for p in m.ports):
            return []  # it runs, on other ports: not-listening explains that
        site = (server.nginx if kind == "nginx" else server.apache) if server else None
        listen = site.listen if site else []
        directive = "listen" if kind == "nginx" else "Listen"
        if server is not None:
            quotes.append(Quote("host", f"nobody listens on port {port}"))
            if listen:
                quotes.append(Quote("config", f"{config}: {directive} {', '.join(listen)}"))
        quotes += _stop_lines(evidence)
        if same_config:
            message = f"{kind} runs but nothing listens on port {port}"
            fix = Fix(description=f"check the Listen directives of {kind} and reload it")
            confidence = 0.7
        else:
            installed = bool(server and server.installed.get(kind))
            configured_here = any(_port_of(a) == port for a in listen)
            message, confidence = _not_running(kind, port, installed, configured_here, config)
            fix = Fix(description=f"start {kind}", commands=(start,) if installed else ())
        return [
            Finding(self.code, "error", message, confidence=confidence, fix=fix, evidence=quotes)
        ]


def _meant_server(evidence: EvidenceSet) -> str:
    """apache or nginx: the site config says which, else the one that runs."""
    server = evidence.server
    kind = "apache"
    if server and server.running.get("nginx") and not server.running.get("apache"):
        kind = "nginx"
    # The site config says which server is meant, also when none of them runs.
    if evidence.site is not None and evidence.site.server in ("apache", "nginx"):
        kind = evidence.site.server
    return kind


def _start_command(evidence: EvidenceSet, kind: str) -> tuple[str, str, str]:
    """(its config file, the packaged default config, the command that starts it)."""
    server = evidence.server
    if kind == "nginx":
        config = server.nginx.config_file if server and server.nginx else ""
        config = config or (evidence.site.server_config if evidence.site else "")
        default = "/etc/nginx/nginx.conf"
        start = (
            "systemctl start nginx" if config in ("", default) else f"/usr/sbin/nginx -c {config}"
        )
    else:
        config = server.apache.config_file if server and server.apache else ""
        default = "/etc/apache2/apache2.conf"
        start = (
            "systemctl start apache2"
            if config in ("", default)
            else f"/usr/sbin/apache2 -f {config} -k start"
        )
    # A premortem lab starts its servers with its own environment (PHP ini dir, limits).
    return config, default, lab_start_command(evidence) or start


def _stop_lines(evidence: EvidenceSet) -> list[Quote]:
    """The last log line that says why the server stopped or did not start."""
    if evidence.logs is None:
        return []
    tail = [line for line in evidence.logs.lines if any(m in line.message for m in _STOP_MARKERS)]
    return [log_quote(tail[-1].raw)] if tail else []


def _not_running(
    kind: str, port: int | None, installed: bool, configured_here: bool, config: str
) -> tuple[str, float]:
    if installed and configured_here:
        directive = "listen" if kind == "nginx" else "Listen"
        return (
            f"{kind} is not running: {config} says {directive} {port}, nobody listens there",
            0.92,
        )
    if installed:
        return f"{kind} is installed but not running for port {port}", 0.8
    return f"no web server listens on port {port}", 0.6


def _port_of(address: str) -> int | None:
    tail = address.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None
