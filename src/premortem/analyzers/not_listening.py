"""The `not-listening` analyzer of `premortem diagnose` (documented on its class)."""

from __future__ import annotations

from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
from premortem.collectors.server import RunningServer
from premortem.model import Finding, Fix, Quote

DEFAULT_APACHE_CONFIG = "/etc/apache2/apache2.conf"
DEFAULT_NGINX_CONFIG = "/etc/nginx/nginx.conf"


class NotListening(Analyzer):
    """
    ## What it does
    When the request is refused (or times out) and nobody listens on the URL's port, it
    looks for a running Apache/nginx master started with the site's own configuration (the
    same `-f` config file as the site config or the default one) that holds listening
    sockets on other ports. It names those ports and the `Listen` directives of that
    configuration with their file:line.

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
    reload the server (`apache2ctl graceful`, or `apache2 -f CONF -k graceful`) — or
    point the URL at the port the server listens on.
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
        running = _site_masters(evidence)
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
                file, line = path, int(number) if number.isdigit() else None
                where = f" ({chosen})"
        config = master.config_file or (apache.config_file if apache else "")
        directive = "Listen" if master.kind == "apache" else "listen"
        if master.kind == "nginx":
            config = master.config_file or (server.nginx.config_file if server.nginx else "")
        reload = _reload_command(master.kind, config)
        ports = ", ".join(map(str, elsewhere))
        return [
            Finding(
                rule=self.code,
                severity="error",
                message=(
                    f"{master.kind} runs (pid {master.pid}) but listens on port {ports}, "
                    f"not on the URL's port {port}"
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


def _reload_command(kind: str, config: str) -> str:
    """Reload the instance started with `config`; systemd only runs the default one."""
    if kind == "apache":
        if config and config != DEFAULT_APACHE_CONFIG:
            return f"/usr/sbin/apache2 -f {config} -k graceful"
        return "systemctl reload apache2"
    if config and config != DEFAULT_NGINX_CONFIG:
        return f"/usr/sbin/nginx -c {config} -s reload"
    return f"systemctl reload {kind}"


def _site_masters(evidence: EvidenceSet) -> list[RunningServer]:
    """Running masters started with the site's own configuration (not other instances)."""
    server = evidence.server
    assert server is not None
    kind = "apache"
    if server.running.get("nginx") and not server.running.get("apache"):
        kind = "nginx"
    if evidence.site is not None and evidence.site.server in ("apache", "nginx"):
        kind = evidence.site.server
    if kind == "nginx":
        # Another nginx on the host (its own -c config) is not this site's.
        config = server.nginx.config_file if server.nginx else ""
        if not config and evidence.site is not None:
            config = evidence.site.server_config
        wanted = config or DEFAULT_NGINX_CONFIG
        return [
            m
            for m in server.masters
            if m.kind == "nginx" and (m.config_file or DEFAULT_NGINX_CONFIG) == wanted
        ]
    config = server.apache.config_file if server.apache else ""
    wanted = config or DEFAULT_APACHE_CONFIG
    return [
        m
        for m in server.masters
        if m.kind == "apache" and (m.config_file or DEFAULT_APACHE_CONFIG) == wanted
    ]


def _port_of(address: str) -> int | None:
    tail = address.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None
