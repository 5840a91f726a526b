"""Discovery: the site behind a URL on this machine, found from the server that answers it.

A user's server was not built by premortem: Debian's apache2 (apache2.conf, envvars,
sites-enabled) or nginx, WordPress unpacked in a docroot, logs where the distribution puts
them. From a URL, `discover_site` finds

- the server: the program listening on the URL's port (its master's -d/-f/-c and
  environment), else the installed server whose config listens on that port;
- the virtual host (ServerName/ServerAlias and port, or `server_name`/`listen`), its
  docroot, error and access logs, the PHP handler's logging settings (mod_php's php.ini and
  php_value, or the php-fpm pool behind fastcgi_pass) and the user the workers run as;

each fact with where it came from (a config file:line, a process), and what it could not
find. Its `config` is the `SiteConfig` every command runs on when there is no
premortem.toml; `premortem init` writes it as one.

When HAProxy listens on the URL's port, the site is a fleet behind it: its config (the
master's `-f`, else /etc/haproxy/haproxy.cfg) gives the frontend on that port, its backend
and servers, the runtime API socket (`stats socket`) and where it logs (`log stdout`: the
file its stdout is; `log /dev/log` or an address: rsyslog's haproxy rule in
/etc/rsyslog.d/), and the config written is a fleet config (`[balancer]`, docs/watch.md).

`load_site` is how commands get their site: `--config FILE`, else ./premortem.toml when it
is for the same site, else discovery from the URL. A config that no longer matches the
disk (docroot moved, log gone) is said in one line per fact (`config_drift`).

Read-only: it runs `apache2 -M` (parses the config, starts nothing) and reads files.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from premortem.collectors.server import ServerEvidence, collect_server
from premortem.errors import PremortemError, UsageError
from premortem.host import Host
from premortem.readers.apache import ApacheSite
from premortem.readers.haproxy import HaproxyConfig, read_haproxy_config
from premortem.readers.nginx import NginxSite
from premortem.siteconfig import (
    BalancerConfig,
    SiteConfig,
    default_state_dir,
    read_site_config,
    site_slug,
)

DEFAULT_CONFIG = Path("premortem.toml")


@dataclass
class Fact:
    """One premortem.toml key found on the machine, and where it was found."""

    key: str
    value: Any
    source: str


@dataclass
class SiteDiscovery:
    url: str
    server: str = ""
    facts: list[Fact] = field(default_factory=list)
    # What could not be found, one sentence each (with its consequence).
    missing: list[str] = field(default_factory=list)
    # Choices made on doubtful evidence, one sentence each.
    warnings: list[str] = field(default_factory=list)
    config: SiteConfig | None = None

    def fact(self, key: str) -> Fact | None:
        return next((f for f in self.facts if f.key == key), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "server": self.server,
            "facts": [{"key": f.key, "value": f.value, "source": f.source} for f in self.facts],
            "missing": list(self.missing),
            "warnings": list(self.warnings),
            "config": self.config.to_toml_dict() if self.config else None,
        }


def url_port(url: str) -> tuple[str, int]:
    """(host name, port) of an http(s) URL; a UsageError for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"not an http(s) URL: {url!r} (example: http://127.0.0.1:8080/)")
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"not a valid port in {url!r}") from None
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def discover_site(url: str, host: Host) -> SiteDiscovery:
    """What this machine's servers say about the site at `url` (see the module docstring)."""
    hostname, port = url_port(url)
    found = SiteDiscovery(url=url)
    evidence = collect_server(port, hostname, host=host)
    balancer = next((lst for lst in evidence.listeners if lst.name == "haproxy"), None)
    if balancer is not None and balancer.pid is not None:
        return _discover_balancer(found, port, balancer.pid, host)
    site, how = _site_of(evidence, port, hostname, found)
    if site is None:
        return found
    _add_site_facts(found, evidence, site, how)
    found.config = _config_of(found)
    return found


def _site_of(
    evidence: ServerEvidence, port: int, hostname: str, found: SiteDiscovery
) -> tuple[ApacheSite | NginxSite | None, str]:
    """The server config that serves port (and how it was chosen)."""
    if evidence.kind in ("apache", "nginx") and evidence.master_pid is not None:
        found.server = evidence.kind
        site = evidence.apache if evidence.kind == "apache" else evidence.nginx
        return site, f"process {evidence.master_pid} ({evidence.kind}) listens on port {port}"
    if evidence.listeners:
        names = ", ".join(sorted({lst.name or "?" for lst in evidence.listeners}))
        found.missing.append(
            f"port {port} is served by {names}, not a web server premortem knows (Apache, nginx)"
        )
        return None, ""
    # Nobody listens: the server collector weighed which server is meant for the port.
    meant = [c for c in evidence.candidates if c.listens_here]
    site = evidence.apache or evidence.nginx
    if not meant or site is None or meant[0].kind not in ("apache", "nginx"):
        found.missing.append(
            f"nothing listens on port {port} and no installed server's config "
            "(Apache, nginx) has a site on it"
        )
        return None, ""
    best = meant[0]
    for other in meant[1:]:
        found.warnings.append(
            f"{other.kind} could serve port {port} too ({'; '.join(other.reasons)}); chose "
            f"{best.kind} ({'; '.join(best.reasons)}): set `server` in premortem.toml if wrong"
        )
    found.server = best.kind
    return site, f"{best.kind}'s config listens on port {port} ({best.listens_here[0]})"


def _add_site_facts(
    found: SiteDiscovery, evidence: ServerEvidence, site: ApacheSite | NginxSite, how: str
) -> None:
    def add(key: str, value: Any, source: str) -> None:
        if value:
            found.facts.append(Fact(key, value, source))

    add("server", found.server, how)
    add("server_config", site.config_file, "the server's main config")
    add("docroot", site.docroot, site.sources.get("docroot", ""))
    add("error_log", site.error_log, site.sources.get("error_log", ""))
    add("access_log", site.access_log, site.sources.get("access_log", ""))
    if site.access_log:
        add("access_log_format", site.access_log_format, site.sources.get("access_log", ""))
    workers = [user for user in evidence.worker_users if user != "root"]
    if workers:
        add("web_user", workers[0], f"the workers of process {evidence.master_pid} run as it")
    else:
        add("web_user", site.user, site.sources.get("web_user", ""))
    if evidence.php_fpm is not None and evidence.php_fpm.config_file:
        # nginx's fastcgi_pass, or Apache's proxy_fcgi handler (SetHandler, ProxyPassMatch).
        fpm = evidence.php_fpm
        add("php_fpm_config", fpm.config_file, f"the pool listening on {fpm.fastcgi_address}")
        add("php_fpm_log", fpm.error_log, fpm.config_file)
        add("php_error_log", fpm.php_error_log, "the pool's php_admin_value[error_log]")
    elif isinstance(site, ApacheSite):
        add("php_error_log", site.php_settings.get("error_log", ""), "php.ini / php_value")
    _note_gaps(found, site)


def _note_gaps(found: SiteDiscovery, site: ApacheSite | NginxSite) -> None:
    if not site.docroot:
        found.missing.append("no DocumentRoot/root for the site: cannot tell where its files are")
    elif not os.path.isdir(site.docroot):
        found.missing.append(f"the docroot {site.docroot} does not exist")
    if not site.access_log:
        found.missing.append(
            "no access log file for the site (none configured, or piped): "
            "watch and report cannot measure the impact"
        )
    if not site.error_log:
        found.missing.append("no error log file for the site (none configured, or syslog)")


def _config_of(found: SiteDiscovery) -> SiteConfig | None:
    docroot = found.fact("docroot")
    if docroot is None or not os.path.isdir(docroot.value):
        return None
    site_root = _site_root_of(docroot.value)
    found.facts.append(
        Fact(
            "site_root",
            site_root,
            "the parent of the `current` link"
            if site_root != docroot.value
            else "the docroot itself (not a releases layout yet: premortem adopt makes one)",
        )
    )
    state = default_state_dir(found.url)
    found.facts.append(Fact("state_dir", str(state), "premortem's default for this site"))
    values = {f.key: f.value for f in found.facts}
    return SiteConfig(url=found.url, **values)


def _site_root_of(docroot: str) -> str:
    """The releases layout's root when the docroot is its `current` link, else the docroot."""
    path = Path(docroot.rstrip("/") or "/")
    if path.name == "current" and path.is_symlink() and (path.parent / "releases").is_dir():
        return str(path.parent)
    return str(path)


# ---------------------------------------------------------------- the site a command runs on


def load_site(
    config_path: Path | None,
    url: str | None,
    host: Host | None,
    warn: Callable[[str], None],
) -> SiteConfig | None:
    """The site a command runs on: --config FILE, else ./premortem.toml when it is for the
    same site as `url`, else (given `host`) the site discovered from `url` on it; None when
    nothing says which."""
    config_file = site_config_file(config_path, url)
    if config_file is not None:
        config = read_site_config(config_file)
        for problem in config_drift(config):
            warn(f"{config_file}: {problem}")
        return config
    if url is None or host is None:
        return None
    return discovered_site(url, host, warn)


def site_config_file(config_path: Path | None, url: str | None) -> Path | None:
    """The premortem.toml `load_site` reads: --config FILE, else ./premortem.toml when it is
    for the same site as `url`; None when the site is to be discovered (or is unknown)."""
    if config_path is not None:
        return config_path
    if DEFAULT_CONFIG.is_file() and (
        url is None or site_slug(read_site_config(DEFAULT_CONFIG).url) == site_slug(url)
    ):
        return DEFAULT_CONFIG
    return None


def discovered_site(url: str, host: Host, warn: Callable[[str], None]) -> SiteConfig:
    found = discover_site(url, host)
    if found.config is None:
        raise PremortemError(
            f"no premortem.toml, and the site of {url} could not be found on this machine: "
            + "; ".join(found.missing or ["its docroot is unknown"])
            + " (write one: docs/config.md)"
        )
    docroot = found.fact("docroot")
    where = f" ({docroot.source})" if docroot and docroot.source else ""
    warn(f"no premortem.toml: {found.server} serves {url} from {found.config.docroot}{where}")
    return found.config


def config_drift(config: SiteConfig) -> list[str]:
    """What in the config no longer matches the disk, one sentence each."""
    problems: list[str] = []
    # A fleet config ([balancer]) has no docroot here: the hosts have theirs.
    if not os.path.isdir(config.docroot) and not (config.balancer and not config.docroot):
        problems.append(
            f"docroot {config.docroot} does not exist (moved? `premortem init URL --force` "
            "rewrites the file from what the server says)"
        )
    for key in ("access_log", "error_log", "server_config"):
        value = getattr(config, key)
        if value and not os.path.exists(value):
            problems.append(f"{key} {value} does not exist")
    return problems


RSYSLOG_DIR = Path("/etc/rsyslog.d")


def _discover_balancer(found: SiteDiscovery, port: int, pid: int, host: Host) -> SiteDiscovery:
    """The fleet config of HAProxy listening on `port` (process `pid`, a worker)."""
    found.server = "haproxy"
    procs = {p.pid: p for p in host.processes()}
    master = procs.get(pid)
    while master is not None and (parent := procs.get(master.ppid)) and parent.name == master.name:
        master = parent
    cmdline = list(master.cmdline) if master else []
    config_file = next(
        (cmdline[i + 1] for i, arg in enumerate(cmdline[:-1]) if arg == "-f"),
        "/etc/haproxy/haproxy.cfg",
    )
    try:
        cfg = read_haproxy_config(config_file)
    except PremortemError as exc:
        found.missing.append(str(exc))
        return found
    frontend = cfg.frontend_on(port)
    backend = cfg.backend(frontend.default_backend) if frontend else None
    if frontend is None or backend is None:
        found.missing.append(f"{config_file} has no frontend on port {port} with a default_backend")
        return found
    how = f"process {pid} (haproxy) listens on port {port}; its config {config_file}"
    found.facts.append(Fact("server", "haproxy", how))
    found.facts.append(Fact("balancer.backend", backend.name, backend.where))
    servers = ", ".join(name for name, _address in backend.servers)
    found.facts.append(Fact("balancer.servers", servers, backend.where))
    socket = next(((p, w) for p, w in cfg.stats_sockets if p.startswith("/")), None)
    if socket is not None:
        found.facts.append(Fact("balancer.admin_socket", socket[0], socket[1]))
    else:
        found.missing.append("no `stats socket` in the global section: watch cannot read stats")
    access_log = _haproxy_log(found, cfg, pid, host)
    if not frontend.httplog:
        found.warnings.append(
            f"the frontend {frontend.name} ({frontend.where}) has no `option httplog`: "
            "watch reads httplog lines; add it"
        )
    found.warnings.append(
        "[balancer] inventory and event_stores are not known from HAProxy: add them "
        "(docs/config.md) for --auto-rollback and the report's hosts' events"
    )
    found.config = SiteConfig(
        url=found.url, site_root="", docroot="", access_log=access_log,
        access_log_format="haproxy", state_dir=str(default_state_dir(found.url)),
        smoke_paths=["/"],
        balancer=BalancerConfig(admin_socket=socket[0] if socket else "", backend=backend.name),
    )  # fmt: skip
    return found


def _haproxy_log(found: SiteDiscovery, cfg: HaproxyConfig, pid: int, host: Host) -> str:
    """Where HAProxy's request log lands: its stdout's file, or rsyslog's haproxy rule."""
    for target, where in cfg.log_targets:
        path = host.stdout_file(pid) if target == "stdout" else ""
        if path:
            found.facts.append(Fact("access_log", path, f"HAProxy's stdout ({where}: log stdout)"))
            return path
        if target != "stdout":
            path, rule = _rsyslog_haproxy_file()
            if path:
                found.facts.append(Fact("access_log", path, f"{rule} (HAProxy logs to {target})"))
                return path
    found.missing.append(
        "where HAProxy's log is written (no `log stdout` to a file, no rsyslog rule)"
    )
    return ""


def _rsyslog_haproxy_file() -> tuple[str, str]:
    """The file rsyslog writes HAProxy's messages to: the action of a rule whose selector
    names haproxy (Debian's 49-haproxy.conf: `:programname, startswith, "haproxy" {` then
    `/var/log/haproxy.log`)."""
    rules = sorted(RSYSLOG_DIR.glob("*.conf")) if RSYSLOG_DIR.is_dir() else []
    for rule in rules:
        try:
            lines = rule.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for number, line in enumerate(lines, 1):
            text = line.strip()
            if "haproxy" not in text or not text.startswith((":", "if ")):
                continue
            # The action: on the selector's line, or the block's lines after it.
            for offset, action in enumerate([text.split("{", 1)[-1], *lines[number:]]):
                words = action.split()
                path = next((w.lstrip("-") for w in words if w.lstrip("-").startswith("/")), "")
                if path:
                    return path, f"{rule}:{number + max(offset, 0)}"
                if "}" in action:
                    break
    return "", ""
