"""Helpers for analyzers about the web server itself: which server is meant for a port nobody
answers (and which others could own it), and the commands that start or reload a server or a
service the way this host can (systemd, SysV `service`, or the program itself)."""

from __future__ import annotations

from dataclasses import dataclass, field

from premortem.analyzers._common import lab_start_command
from premortem.collectors import EvidenceSet
from premortem.collectors.configtest import DEFAULT_APACHE_CONFIG, DEFAULT_NGINX_CONFIG
from premortem.collectors.server import ServerCandidate
from premortem.model import Quote

APACHE_BINARY = "/usr/sbin/apache2"
NGINX_BINARY = "/usr/sbin/nginx"
SERVICE_NAMES = {"apache": "apache2", "nginx": "nginx"}
# MariaDB without systemd or an init script: its own wrapper, in the background.
MARIADB_DIRECT = "mysqld_safe &"


@dataclass
class MeantServer:
    """The server meant for the URL's port, its config, and the others that could own it."""

    kind: str
    config: str
    candidate: ServerCandidate | None = None
    # Other candidates as likely as this one (premortem cannot tell which is meant).
    tied: list[ServerCandidate] = field(default_factory=list)
    # Other candidates with a real claim (a master runs, or their config names the port).
    others: list[ServerCandidate] = field(default_factory=list)

    @property
    def default_config(self) -> str:
        return DEFAULT_NGINX_CONFIG if self.kind == "nginx" else DEFAULT_APACHE_CONFIG

    def same_config(self, config: str) -> bool:
        default = self.default_config
        return (config or default) == (self.config or default)


def meant_server(evidence: EvidenceSet) -> MeantServer:
    """The site config's server, else the likeliest candidate the server collector found,
    else (an older recording) the one that runs, apache when none does."""
    server = evidence.server
    candidates = server.candidates if server else []
    named = evidence.site.server if evidence.site is not None else ""
    best = next((c for c in candidates if c.kind == named), None)
    if best is None and candidates and named not in ("apache", "nginx"):
        best = candidates[0]
    if best is not None:
        rest = [c for c in candidates if c is not best]
        tied = [c for c in rest if c.score == best.score and not best.named_by_site]
        others = [c for c in rest if c not in tied and (c.master_pid or c.listens_here)]
        config = _site_config(evidence, best.kind) or best.config_file
        return MeantServer(best.kind, config, best, tied, others)
    kind = "apache"
    if server and server.running.get("nginx") and not server.running.get("apache"):
        kind = "nginx"
    if named in ("apache", "nginx"):
        kind = named
    return MeantServer(kind, _site_config(evidence, kind) or _read_config(evidence, kind))


def _site_config(evidence: EvidenceSet, kind: str) -> str:
    site = evidence.site
    return site.server_config if site is not None and site.server == kind else ""


def _read_config(evidence: EvidenceSet, kind: str) -> str:
    server = evidence.server
    read = (server.nginx if kind == "nginx" else server.apache) if server else None
    return read.config_file if read else ""


def candidate_quotes(meant: MeantServer) -> list[Quote]:
    """Why each server could own the port, as host evidence."""
    return [
        Quote("host", f"{c.kind} ({c.config_file}): {'; '.join(c.reasons) or 'installed'}")
        for c in [*([meant.candidate] if meant.candidate else []), *meant.tied, *meant.others]
    ]


def rivals_text(meant: MeantServer, port: int | None) -> str:
    """ "" when one server could own the port; else which others could, and why this one."""
    if meant.tied:
        names = " and ".join(c.kind for c in [meant.candidate, *meant.tied] if c)
        return (
            f"; {names} could both own port {port} and nothing tells which is meant "
            f"({_claims(meant.tied)}); {meant.kind} is named first"
        )
    if meant.others and meant.candidate is not None:
        others = {key for c in meant.others for key in c.claims}
        ahead = [text for key, text in meant.candidate.claims.items() if key not in others]
        return (
            f"; {_claims(meant.others)} could own port {port} too, "
            f"but {meant.kind} is likelier: {'; '.join(ahead[:2])}"
        )
    return ""


def _claims(candidates: list[ServerCandidate]) -> str:
    return ", ".join(f"{c.kind} ({'; '.join(c.reasons[:2])})" for c in candidates)


def service_command(evidence: EvidenceSet, service: str, verb: str, direct: str) -> str:
    """`verb` `service` as this host can (the server collector saw how); systemctl when an
    older recording does not say."""
    services = evidence.server.services if evidence.server else None
    if services is None:
        return f"systemctl {verb} {service}"
    return services.command(service, verb, direct)


def start_command(evidence: EvidenceSet, kind: str, config: str) -> str:
    """The command that starts the server: the site config's `start_command` (a lab's
    `premortem lab up`), the program with its own config, or the host's service manager."""
    lab = lab_start_command(evidence)
    if lab:
        return lab
    if kind == "nginx":
        if config and config != DEFAULT_NGINX_CONFIG:
            return f"{NGINX_BINARY} -c {config}"
        return service_command(evidence, "nginx", "start", NGINX_BINARY)
    if config and config != DEFAULT_APACHE_CONFIG:
        return f"{APACHE_BINARY} -f {config} -k start"
    return service_command(evidence, "apache2", "start", "apachectl -k start")


def reload_command(evidence: EvidenceSet, kind: str, config: str) -> str:
    """Reload the instance started with `config` (a service manager runs only the default)."""
    if kind == "nginx":
        if config and config != DEFAULT_NGINX_CONFIG:
            return f"{NGINX_BINARY} -c {config} -s reload"
        return service_command(evidence, "nginx", "reload", f"{NGINX_BINARY} -s reload")
    if config and config != DEFAULT_APACHE_CONFIG:
        return f"{APACHE_BINARY} -f {config} -k graceful"
    return service_command(evidence, "apache2", "reload", "apachectl -k graceful")


def database_start_command(evidence: EvidenceSet) -> str:
    """Start the site's database: the site config's `start_command`, else the host's way."""
    return lab_start_command(evidence) or service_command(
        evidence, "mariadb", "start", MARIADB_DIRECT
    )
