"""The `not-listening` analyzer of `premortem diagnose` (documented on its class)."""

from __future__ import annotations

from premortem.analyzers._servers import (
    candidate_quotes,
    meant_server,
    reload_command,
    rivals_text,
)
from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
from premortem.model import Finding, Fix, Quote


class NotListening(Analyzer):
    """
    ## What it does
    When the request is refused (or times out) and nobody listens on the URL's port, it
    looks for a running master of the server meant for the port (the site config's, else the
    likeliest of the installed or running Apache/nginx, as `server-down` decides) started
    with that server's own configuration (the same `-f`/`-c` config file as the site config
    or the default one) that holds listening sockets on other ports. It names those ports
    and the `Listen` directives of that configuration with their file:line, and the other
    servers that could own the port.

    ## Why it breaks sites
    The processes are there, so `ps`, `systemctl status` and a monitoring check on the
    process all say "running", yet every visitor of the URL gets "connection refused". It
    typically follows a `Listen`/`ports.conf` edit, a port clash at start-up, or a
    config restored from another host.

    ## Example
    `curl: (7) Failed to connect to 127.0.0.1 port 8080: Connection refused` while
    `/usr/sbin/apache2 -f /srv/site/httpd.conf` runs and listens on 127.0.0.1:8081,
    because `httpd.conf` line 4 says `Listen 127.0.0.1:8081`.

    ## Fix
    Make the `Listen` directive (file:line in the finding) name the URL's port, then
    reload the server the way the host can (`systemctl reload apache2`, `service apache2
    reload` without systemd, else `apachectl -k graceful`; `apache2 -f CONF -k graceful`
    for a server run with its own config) — or point the URL at the port the server
    listens on.
    """

    code = "not-listening"
    summary = "the site's web server runs, but listens on other ports than the URL's"

    def analyze(self, evidence: EvidenceSet) -> list[Finding]:
        http = evidence.http
        server = evidence.server
        if (
            http is None
            or server is None
            or http.error_kind not in ("refused", "timeout", "connect")
        ):
            return []
        if server.listeners:
            return []  # something listens on the port: not this rule's problem
        port = server.port
        meant = meant_server(evidence)
        running = [
            m for m in server.masters if m.kind == meant.kind and meant.same_config(m.config_file)
        ]
        elsewhere = sorted({p for m in running for p in m.ports if p != port})
        if not elsewhere:
            return []
        master = running[0]
        quotes = [
            Quote("http", f"{http.url}: {http.error}"),
            Quote("host", f"nobody listens on port {port}"),
            Quote(
                "host",
                f"{master.kind} (pid {master.pid}, {master.config_file or 'default config'}) "
                f"listens on port(s) {', '.join(map(str, elsewhere))}",
            ),
        ]
        file: str | None = None
        line: int | None = None
        where = ""
        apache = server.apache
        if master.kind == "apache" and apache is not None and apache.listen:
            for address, at in zip(apache.listen, apache.listen_at, strict=False):
                quotes.append(Quote("config", f"{at}: Listen {address}"))
            # The directive to change: one that names a port the server really listens on.
            chosen = next(
                (
                    at
                    for address, at in zip(apache.listen, apache.listen_at, strict=False)
                    if _port_of(address) in elsewhere
                ),
                apache.listen_at[0] if apache.listen_at else "",
            )
            if chosen:
                path, _, number = chosen.rpartition(":")
                file, line = path, int(number) if number.isascii() and number.isdigit() else None
                where = f" ({chosen})"
        quotes += candidate_quotes(meant)[1:]
        directive = "Listen" if master.kind == "apache" else "listen"
        reload = reload_command(evidence, master.kind, master.config_file or meant.config)
        ports = ", ".join(map(str, elsewhere))
        return [
            Finding(
                rule=self.code,
                severity="error",
                message=(
                    f"{master.kind} runs (pid {master.pid}) but listens on port {ports}, "
                    f"not on the URL's port {port}" + rivals_text(meant, port)
                ),
                file=file,
                line=line,
                confidence=0.9,
                suggestion=f"the {directive} directive{where} says port {ports}",
                fix=Fix(
                    description=(
                        f"change the {directive} directive{where} from port {ports} to {port}, "
                        f"then reload {master.kind}"
                    ),
                    commands=(reload,),
                ),
                evidence=quotes[:6],
            )
        ]


def _port_of(address: str) -> int | None:
    tail = address.rsplit(":", 1)[-1]
    return int(tail) if tail.isascii() and tail.isdigit() else None
