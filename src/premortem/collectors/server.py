"""The server collector: who serves the URL's port and how it is configured.

- who listens on the port (psutil): Apache httpd (master, workers and their users), nginx,
  php-fpm, or nobody;
- the Apache configuration the running master uses (its ``-d``/``-f`` arguments, else
  /etc/apache2/apache2.conf), followed through Include/IncludeOptional, with ``${VAR}``
  from Define and the master's environment (Debian's envvars): Listen, the VirtualHost
  matching the URL and its DocumentRoot, ErrorLog, CustomLog, DirectoryIndex, whether mod_php
  is loaded and .php is handed to it, and the modules the binary really loads (``apache2 -M``
  with the same ``-d``/``-f``/``-D``: it parses the config and starts nothing);
- for nginx, the ``server`` block of the port (crossplane): root, logs, fastcgi_pass;
- the php-fpm pool behind nginx's fastcgi_pass or Apache's proxy_fcgi handler
  (SetHandler/AddHandler "proxy:...|fcgi://", ProxyPassMatch fcgi://; readers/apache_handler.py);
- PHP settings that decide what gets logged (log_errors, display_errors, error_log) from the
  apache2 SAPI php.ini and php_flag/php_value directives;
- whether Apache/nginx/php-fpm/MariaDB are installed and running, and how the host starts
  services (systemd, SysV `service`, or neither);
- when nobody listens on the port: each server that could own it (`ServerCandidate`: its
  running master, the directives of its config that name the port, its config test
  `apache2ctl -t` / `nginx -t`), so analyzers can say which one is meant and why.

Read-only: it never signals or reconfigures a process; the config tests only parse.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from premortem.collectors.configtest import (
    DEFAULT_APACHE_CONFIG,
    DEFAULT_NGINX_CONFIG,
    ConfigTest,
    config_test_command,
    run_config_test,
)
from premortem.collectors.phpfpm import MASTER_TITLE_RE, PhpFpmEvidence, collect_php_fpm
from premortem.host import Host, ListeningSocket, ProcessInfo, ServiceManager
from premortem.readers.apache import (
    ApacheSite,
    address_port,
    read_apache_config,
    site_summary,
)
from premortem.readers.apache_handler import fcgi_handlers
from premortem.readers.files import LOCAL_FILES, ConfigFiles, HostFiles, LocalFiles
from premortem.readers.nginx import NginxConfig, NginxSite, listen_port, read_nginx_config
from premortem.readers.nginx import site_summary as nginx_site_summary

SERVER_NAMES = {"apache2": "apache", "httpd": "apache", "nginx": "nginx"}
PHP_FPM_RE = re.compile(r"^php-fpm")
# How long a web server master without workers is given to fork them (2 s in all).
WORKER_WAIT_STEPS = 20
WORKER_WAIT_STEP = 0.1


@dataclass
class Listener:
    pid: int | None
    name: str
    address: str
    port: int


@dataclass
class RunningServer:
    """A running server master: its program, config file and the ports it listens on."""

    pid: int
    kind: str
    config_file: str
    ports: list[int] = field(default_factory=list)


@dataclass
class ServerCandidate:
    """A web server that could own the URL's port while nobody listens on it, and why.

    `score` weighs the reasons (a master started with `config_file` runs: 4; the config
    names the port: 2; its config test fails, a common reason for being down: 1; installed: 1;
    the site config names this server: 10; of several, it wrote its error log last, as a
    server that just stopped did: 1): the highest is the server meant for the URL.
    """

    kind: str
    config_file: str
    installed: bool = False
    master_pid: int | None = None
    # Where that master listens (the URL's port is not among them).
    ports: list[int] = field(default_factory=list)
    # The directives of its config naming the URL's port: "file:line: Listen 80".
    listens_here: list[str] = field(default_factory=list)
    config_test: ConfigTest | None = None
    named_by_site: bool = False
    # Its error log, when that was last written (epoch), and whether no other
    # candidate's was written later.
    error_log: str = ""
    error_log_written: float | None = None
    logged_last: bool = False

    @property
    def score(self) -> int:
        return (
            10 * self.named_by_site
            + 4 * (self.master_pid is not None)
            + 2 * bool(self.listens_here)
            + (self.config_test is not None and not self.config_test.ok)
            + self.installed
            + self.logged_last
        )

    @property
    def claims(self) -> dict[str, str]:
        """Why this server could own the port, in words, by kind of reason."""
        said: dict[str, str] = {}
        if self.named_by_site:
            said["site"] = "the site config names it"
        if self.master_pid is not None:
            where = f", listening on {_ports_text(self.ports)}" if self.ports else ""
            said["master"] = f"its master runs (pid {self.master_pid}{where})"
        if self.listens_here:
            said["listen"] = self.listens_here[0]
        if self.config_test is not None and not self.config_test.ok:
            said["config_test"] = (
                f"its config test fails ({self.config_test.where or 'see output'})"
            )
        if self.logged_last and self.error_log_written is not None:
            at = time.strftime("%H:%M:%S", time.localtime(self.error_log_written))
            said["logged_last"] = f"it wrote its error log last ({self.error_log} at {at})"
        if self.installed and self.master_pid is None:
            said["installed"] = "installed, not running"
        return said

    @property
    def reasons(self) -> list[str]:
        return list(self.claims.values())


def _ports_text(ports: list[int]) -> str:
    return "port " + ", ".join(map(str, ports)) if ports else "no port"


@dataclass
class ServerEvidence:
    port: int
    listeners: list[Listener] = field(default_factory=list)
    kind: str | None = None
    master_pid: int | None = None
    worker_pids: list[int] = field(default_factory=list)
    worker_users: list[str] = field(default_factory=list)
    master_cmdline: list[str] = field(default_factory=list)
    apache: ApacheSite | None = None
    nginx: NginxSite | None = None
    installed: dict[str, bool] = field(default_factory=dict)
    running: dict[str, bool] = field(default_factory=dict)
    # Running masters (to tell "stopped" from "listening elsewhere").
    masters: list[RunningServer] = field(default_factory=list)
    # The php-fpm pool behind nginx's fastcgi_pass or Apache's proxy_fcgi handler.
    php_fpm: PhpFpmEvidence | None = None
    # How the host starts services (None: not looked at, e.g. an older recording).
    services: ServiceManager | None = None
    # Nobody listens on the port: the servers that could own it, the likeliest first.
    candidates: list[ServerCandidate] = field(default_factory=list)

    @property
    def docroot(self) -> str:
        site = self.apache or self.nginx
        return site.docroot if site else ""

    @property
    def error_log(self) -> str:
        site = self.apache or self.nginx
        return site.error_log if site else ""

    @property
    def access_log(self) -> str:
        site = self.apache or self.nginx
        return site.access_log if site else ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return data


def collect_server(
    port: int,
    hostname: str = "127.0.0.1",
    config_file: str | None = None,
    server_hint: str | None = None,
    php_fpm_config: str | None = None,
    *,
    host: Host,
) -> ServerEvidence:
    """`server_hint`: "apache" or "nginx" from the site config, when nothing runs to ask;
    `php_fpm_config`: the php-fpm master config of the site, if known."""
    evidence = ServerEvidence(port=port)
    sockets = host.listening()
    evidence.listeners = listeners_on(port, host, sockets)
    living = [p for p in host.processes() if not p.zombie]
    server_procs = [p for p in living if SERVER_NAMES.get(p.name) or PHP_FPM_RE.match(p.name)]
    evidence.running = _running_kinds(living)
    evidence.services = host.service_manager()
    evidence.installed = _installed_kinds(evidence.services)
    evidence.masters = _masters(server_procs, sockets)
    master = _master_for(evidence.listeners, host)
    if master is None and evidence.listeners and config_file is None:
        # Without root the kernel does not say which process owns another user's socket:
        # pick the running Apache whose configuration listens on the port.
        master = _apache_configured_for(evidence.masters, port, hostname, host)
    if master is not None:
        _describe_master(evidence, master, host)
    if not evidence.listeners:
        evidence.candidates = collect_candidates(
            evidence, hostname, config_file, server_hint, host=host
        )
    best = evidence.candidates[0] if evidence.candidates else None
    meant = best.kind if best else server_hint
    cmdline = evidence.master_cmdline
    if best is not None and evidence.kind is None:
        # Nobody listens: read the config of the server meant for the port, as its master
        # (if one runs) was started with it.
        config_file = config_file or best.config_file
        master = host.process(best.master_pid) if best.master_pid else None
        cmdline = list(master.cmdline) if master else []
    wants_nginx = evidence.kind == "nginx" or (evidence.kind is None and meant == "nginx")
    if wants_nginx:
        evidence.nginx = read_nginx_site(
            cmdline, config_file=config_file, port=port, host=hostname, files=HostFiles(host)
        )
        fastcgi = next(iter(evidence.nginx.fastcgi_servers), evidence.nginx.fastcgi_pass)
        if fastcgi or php_fpm_config:
            evidence.php_fpm = collect_php_fpm(fastcgi, php_fpm_config, host=host)
    elif evidence.kind == "apache" or (evidence.kind is None and evidence.installed["apache"]):
        environ = host.environ(master.pid) if master and _kind_of(master.name) == "apache" else {}
        evidence.apache = read_apache_site(
            cmdline,
            config_file=config_file,
            port=port,
            host=hostname,
            environ=environ,
            files=HostFiles(host),
        )
        handlers = evidence.apache.fcgi_handlers
        if handlers:
            # Apache + php-fpm: PHP runs in the pool the handler names.
            evidence.php_fpm = collect_php_fpm(handlers[0].address, php_fpm_config, host=host)
    return evidence


def _running_kinds(living: list[ProcessInfo]) -> dict[str, bool]:
    names = {p.name for p in living}
    return {
        "apache": any(SERVER_NAMES.get(n) == "apache" for n in names),
        "nginx": "nginx" in names,
        "php-fpm": any(PHP_FPM_RE.match(n) for n in names),
        "mariadb": bool(names & {"mariadbd", "mysqld"}),
    }


def _installed_kinds(services: ServiceManager) -> dict[str, bool]:
    names = {os.path.basename(path) for path in services.programs}
    return {
        "apache": bool(names & {"apache2", "httpd"}),
        "nginx": "nginx" in names,
        "php-fpm": any(PHP_FPM_RE.match(name) for name in names),
        "mariadb": bool(names & {"mariadbd", "mysqld"}),
    }


def _kind_of(name: str) -> str:
    return SERVER_NAMES.get(name) or ("php-fpm" if PHP_FPM_RE.match(name) else name)


def _describe_master(evidence: ServerEvidence, master: ProcessInfo, host: Host) -> None:
    evidence.master_pid = master.pid
    evidence.kind = _kind_of(master.name)
    evidence.master_cmdline = list(master.cmdline)
    workers = host.descendants(master.pid)
    for _ in range(WORKER_WAIT_STEPS):
        if workers or evidence.kind not in {"apache", "nginx"}:
            break
        # A master without workers is between its old workers' exit and the new ones' fork
        # (a graceful restart, a logrotate reload): they come within moments.
        host.pause(WORKER_WAIT_STEP)
        workers = host.descendants(master.pid)
    evidence.worker_pids = sorted(w.pid for w in workers)
    evidence.worker_users = sorted({w.username for w in workers if w.username})


def listeners_on(
    port: int, host: Host, sockets: list[ListeningSocket] | None = None
) -> list[Listener]:
    names = {p.pid: p.name for p in host.processes()}
    return [
        Listener(s.pid, names.get(s.pid, "") if s.pid else "", s.ip, s.port)
        for s in (host.listening() if sockets is None else sockets)
        if s.port == port
    ]


def _masters(procs: list[ProcessInfo], sockets: list[ListeningSocket]) -> list[RunningServer]:
    by_pid = {proc.pid: proc for proc in procs}
    masters: dict[int, RunningServer] = {}
    owner: dict[int, int] = {}
    for proc in procs:
        top = proc
        while (parent := by_pid.get(top.ppid)) is not None and parent.name == top.name:
            top = parent
        if top.pid not in masters:
            kind = _kind_of(top.name)
            masters[top.pid] = RunningServer(top.pid, kind, _master_config(kind, top.cmdline))
        owner[proc.pid] = top.pid
    for sock in sockets:
        if sock.pid in owner:
            master = masters[owner[sock.pid]]
            if sock.port not in master.ports:
                master.ports.append(sock.port)
    return sorted(masters.values(), key=lambda m: m.pid)


def _master_config(kind: str, cmdline: tuple[str, ...]) -> str:
    """The config file a master was started with (-f for Apache, -c for nginx, the
    php-fpm master's process title), "" for the default."""
    if kind == "apache":
        return _apache_args(list(cmdline))[1]
    if kind == "nginx":
        # nginx rewrites its title to "nginx: master process /usr/sbin/nginx -c CONF ...".
        args = " ".join(cmdline).split()
        return args[args.index("-c") + 1] if "-c" in args[:-1] else ""
    if kind == "php-fpm":
        match = MASTER_TITLE_RE.search(" ".join(a for a in cmdline if a))
        return match.group("config") if match else ""
    return ""


def collect_candidates(
    evidence: ServerEvidence,
    hostname: str,
    config_file: str | None,
    server_hint: str | None,
    *,
    host: Host,
) -> list[ServerCandidate]:
    """Every web server that could own the port nobody listens on, the likeliest first
    (on a tie, the order apache, nginx: the caller says it is a tie)."""
    found = []
    for kind in ("apache", "nginx"):
        masters = [m for m in evidence.masters if m.kind == kind]
        if not (evidence.installed.get(kind) or masters or server_hint == kind):
            continue
        site_config = config_file if server_hint == kind else None
        candidate = _candidate(kind, masters, site_config, evidence.port, hostname, host)
        candidate.installed = bool(evidence.installed.get(kind))
        candidate.named_by_site = server_hint == kind
        services = evidence.services or ServiceManager()
        master = host.process(candidate.master_pid) if candidate.master_pid else None
        master_args = _apache_master_args(master) if kind == "apache" else []
        command = config_test_command(kind, candidate.config_file, master_args, services)
        if command is not None:
            env = host.environ(master.pid) if master and kind == "apache" else {}
            candidate.config_test = run_config_test(command, env, host)
        found.append(candidate)
    _mark_last_logged(found, host)
    return sorted(found, key=lambda c: -c.score)


def _mark_last_logged(candidates: list[ServerCandidate], host: Host) -> None:
    """Of several servers, the one whose error log was written last ran last."""
    for candidate in candidates:
        log = host.stat(candidate.error_log) if candidate.error_log else None
        candidate.error_log_written = log.mtime if log is not None and log.exists else None
    written = [c for c in candidates if c.error_log_written is not None]
    if len(candidates) < 2 or not written:
        return
    latest = max(written, key=lambda c: c.error_log_written or 0.0)
    if all(
        c is latest or (c.error_log_written or 0.0) < (latest.error_log_written or 0.0)
        for c in candidates
    ):
        latest.logged_last = True


def _candidate(
    kind: str,
    masters: list[RunningServer],
    site_config: str | None,
    port: int,
    hostname: str,
    host: Host,
) -> ServerCandidate:
    """The instance of `kind` meant for the port: the site's config, else a running master's
    config that names the port, else the packaged default's."""
    default = DEFAULT_NGINX_CONFIG if kind == "nginx" else DEFAULT_APACHE_CONFIG
    configs = [site_config] if site_config else [m.config_file or default for m in masters]
    configs = list(dict.fromkeys([*configs, default] if not site_config else configs))
    chosen: ServerCandidate | None = None
    for config in configs:
        master = next((m for m in masters if (m.config_file or default) == config), None)
        proc = host.process(master.pid) if master else None
        listens, error_log = _config_facts(kind, config, port, hostname, proc, host)
        candidate = ServerCandidate(
            kind,
            config,
            master_pid=master.pid if master else None,
            ports=list(master.ports) if master else [],
            listens_here=listens,
            error_log=error_log,
        )
        if listens:
            return candidate
        chosen = chosen or candidate
    assert chosen is not None  # configs always holds one
    return chosen


def _config_facts(
    kind: str, config: str, port: int, hostname: str, master: ProcessInfo | None, host: Host
) -> tuple[list[str], str]:
    """The directives of `config` that make its server listen on `port` ("file:line: ..."),
    and the error log it writes for that port (its main one when no site names the port)."""
    if kind == "nginx":
        nginx = read_nginx_config(config, HostFiles(host))
        found = []
        for server in nginx.servers:
            listens = [d for d in server.get("block", []) if d.get("directive") == "listen"]
            for listen in listens:
                if listen_port(listen.get("args", [])) == port:
                    args = " ".join(listen.get("args", []))
                    found.append(
                        f"{listen.get('file', config)}:{listen.get('line')}: listen {args}"
                    )
            if not listens and port == 80:  # a server block without listen takes *:80
                found.append(f"{server.get('file', config)}:{server.get('line')}: server (*:80)")
        block = nginx.server_for(port, hostname)
        return found, nginx_site_summary(nginx, block).error_log or _nginx_main_error_log(nginx)
    cmdline = list(master.cmdline) if master else []
    environ = host.environ(master.pid) if master else {}
    site = read_apache_site(
        cmdline,
        config_file=config,
        port=port,
        host=hostname,
        environ=environ,
        modules=False,
        files=HostFiles(host),
    )
    listens = [
        f"{at}: Listen {address}"
        for address, at in zip(site.listen, site.listen_at, strict=False)
        if address_port(address) == port or address == str(port)
    ]
    return listens, site.error_log


def _nginx_main_error_log(config: NginxConfig) -> str:
    """The main context's error_log (nginx's default when it has none)."""
    for directive in config.top:
        if directive.get("directive") == "error_log" and directive.get("args"):
            return str(directive["args"][0])
    return "/var/log/nginx/error.log"


def _apache_master_args(master: ProcessInfo | None) -> list[str]:
    """The -d/-f/-D arguments a running Apache master was started with."""
    if master is None:
        return []
    server_root, conf, defines = _apache_args(list(master.cmdline))
    args = ["-d", server_root] if server_root else []
    args += ["-f", conf] if conf else []
    for define in defines:
        args += ["-D", define]
    return args


def _apache_configured_for(
    masters: list[RunningServer], port: int, hostname: str, host: Host
) -> ProcessInfo | None:
    for running in masters:
        proc = host.process(running.pid) if running.kind == "apache" else None
        if proc is None:
            continue
        site = read_apache_site(list(proc.cmdline), port=port, host=hostname, files=HostFiles(host))
        if any(address_port(address) == port or address == str(port) for address in site.listen):
            return proc
    return None


def _master_for(listeners: list[Listener], host: Host) -> ProcessInfo | None:
    """The master of the program that listens (the topmost process running it)."""
    for listener in listeners:
        if listener.pid is not None and (top := host.top_of_program(listener.pid)) is not None:
            return top
    return None


# ---------------------------------------------------------------- Apache configuration


def read_apache_site(
    master_cmdline: list[str],
    *,
    config_file: str | None = None,
    port: int = 80,
    host: str = "127.0.0.1",
    environ: dict[str, str] | None = None,
    modules: bool = True,
    files: ConfigFiles = LOCAL_FILES,
) -> ApacheSite:
    """Read the Apache config a master runs with (or `config_file`) for the site at host:port;
    `modules`: also ask the binary which modules it loads (`apache2 -M`, on this machine's
    files only); `files`: where the config is read."""
    server_root, conf, defines = _apache_args(master_cmdline)
    if config_file:
        conf = config_file
    if not server_root:
        server_root = "/etc/apache2" if files.is_dir("/etc/apache2") else "/etc/httpd"
    if not conf:
        conf = (
            "apache2.conf"
            if files.exists(os.path.join(server_root, "apache2.conf"))
            else ("conf/httpd.conf")
        )
    conf_path = conf if os.path.isabs(conf) else os.path.join(server_root, conf)
    variables = {**(environ or {}), **{d: "" for d in defines}}
    # Every <IfModule>/<IfDefine> branch is read: modules compiled into the binary are
    # not LoadModule'd, so judging them from the config alone would drop live settings.
    config = read_apache_config(
        conf_path, server_root, defines=variables, evaluate_conditions=False, files=files
    )
    site = site_summary(config, port, host)
    site.fcgi_handlers = fcgi_handlers(config, site.vhost)
    if not modules or not _local(files):
        return site
    site.loaded_modules = _loaded_modules(server_root, conf_path, defines, config.defines)
    if site.loaded_modules:
        site.php_module_loaded = any(m.startswith("php") for m in site.loaded_modules)
    return site


APACHE_BINARIES = ("/usr/sbin/apache2", "/usr/sbin/httpd")


def _local(files: ConfigFiles) -> bool:
    """Whether `files` are this machine's own (so its apache2 binary reads the same)."""
    if isinstance(files, HostFiles):
        return files.host.local_files
    return isinstance(files, LocalFiles)


def _loaded_modules(
    server_root: str, conf: str, defines: list[str], variables: dict[str, str]
) -> list[str]:
    """`apache2 -M` (parses the config, starts nothing): the modules it would load."""
    binary = next((b for b in APACHE_BINARIES if os.access(b, os.X_OK)), None)
    if binary is None or not os.path.exists(conf):
        return []
    cmd = [binary, "-d", server_root, "-f", conf, "-M"]
    for define in defines:
        cmd += ["-D", define]
    env = {k: v for k, v in variables.items() if k.isupper() and "\0" not in v}
    env.setdefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3, env=env, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [
        line.split()[0]
        for line in proc.stdout.splitlines()
        if line.startswith(" ") and line.strip().endswith(("(static)", "(shared)"))
    ]


def _apache_args(cmdline: list[str]) -> tuple[str, str, list[str]]:
    server_root, conf, defines = "", "", []
    args = cmdline[1:]
    i = 0
    while i < len(args):
        arg = args[i]
        value = args[i + 1] if i + 1 < len(args) else ""
        if arg == "-d":
            server_root, i = value, i + 2
        elif arg == "-f":
            conf, i = value, i + 2
        elif arg == "-D":
            defines.append(value)
            i += 2
        elif arg.startswith("-d") and len(arg) > 2:
            server_root, i = arg[2:], i + 1
        elif arg.startswith("-f") and len(arg) > 2:
            conf, i = arg[2:], i + 1
        else:
            i += 1
    return server_root, conf, defines


# ---------------------------------------------------------------- nginx configuration


def read_nginx_site(
    master_cmdline: list[str],
    *,
    config_file: str | None = None,
    port: int = 80,
    host: str = "127.0.0.1",
    files: ConfigFiles = LOCAL_FILES,
) -> NginxSite:
    """The server block of an nginx config (parsed by crossplane) that serves host:port."""
    conf = config_file or ""
    # nginx rewrites its title: ["nginx: master process /usr/sbin/nginx -c CONF ..."].
    args = " ".join(master_cmdline).split()
    if not conf and "-c" in args and args.index("-c") + 1 < len(args):
        conf = args[args.index("-c") + 1]
    config = read_nginx_config(conf or "/etc/nginx/nginx.conf", files)
    return nginx_site_summary(config, config.server_for(port, host))
