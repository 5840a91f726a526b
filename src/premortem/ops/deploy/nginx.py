"""The site's nginx, as deploy needs it: its server block, a derived stage config, reloads.

The site's config is parsed with crossplane, includes inlined (`combine`), so the stage sees
exactly the directives production sees. The stage config keeps the site's `server` block only
(other sites, `stream` and `mail` blocks listen on ports of their own) and changes what must
not be shared with production: every `listen` becomes one loopback side port, `root`/`alias`
under the docroot point at the new release, `pid` and every `error_log`/`access_log` move
under `<state_dir>/stage/`, and `*_cache_path` directories are the stage's own. Everything else
stays: modules, `user`, `fastcgi_param`s, `try_files`, and the `fastcgi_pass` to the site's
php-fpm pool, so the release runs with production's PHP settings. Temporary paths stay too:
nginx creates its temporary files with O_EXCL, so two instances can share them, and the www-data
workers could not write under the state dir (0700).

Switch-related facts read from the same config: whether PHP gets SCRIPT_FILENAME from
`$realpath_root` (the resolved `current` link) and whether `open_file_cache` is on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import crossplane
import psutil

from premortem.errors import PremortemError
from premortem.siteconfig import SiteConfig

NGINX_BIN = "/usr/sbin/nginx"
# Debian's nginx is built with this PID file; a config without `pid` uses it.
DEFAULT_PID_FILE = "/run/nginx.pid"
Directive = dict[str, Any]


@dataclass
class NginxSite:
    """The parts of the site's nginx config that deploy acts on."""

    config_file: Path
    top: list[Directive]
    http: Directive
    server: Directive
    # Directive blocks from http down to the location that passes PHP to FastCGI.
    php_chain: list[list[Directive]] = field(default_factory=list)
    fastcgi_address: str = ""

    @property
    def script_filename(self) -> str:
        """The SCRIPT_FILENAME value PHP gets ('' when the config does not set one).

        nginx inherits `fastcgi_param`s from the enclosing level only when a level defines
        none of its own: the innermost level with any fastcgi_param wins.
        """
        for block in reversed(self.php_chain):
            params = [d for d in block if d["directive"] == "fastcgi_param" and d["args"]]
            if params:
                found = [d for d in params if d["args"][0] == "SCRIPT_FILENAME"]
                return " ".join(found[-1]["args"][1:]) if found else ""
        return ""

    @property
    def resolves_current_link(self) -> bool:
        """True when PHP is given the release's own path ($realpath_root), not `current/...`."""
        return "$realpath_root" in self.script_filename

    @property
    def open_file_cache(self) -> bool:
        """Whether nginx caches open files (and their paths) on the way to the site."""
        chain = [self.http.get("block", []), *self.php_chain[1:]]
        on = False
        for block in chain:
            for d in block:
                if d["directive"] == "open_file_cache" and d["args"]:
                    on = d["args"][0] != "off"
        return on

    @property
    def pid_file(self) -> str:
        pid = _last(self.top, "pid")
        return pid[0] if pid else DEFAULT_PID_FILE


def _last(block: list[Directive], name: str) -> list[str] | None:
    found = [d["args"] for d in block if d["directive"] == name]
    return found[-1] if found else None


def _port_of(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def _listen_port(args: list[str]) -> int | None:
    tail = args[0].rsplit(":", 1)[-1] if args else ""
    return int(tail) if tail.isdigit() else None


def _php_chain(block: list[Directive], chain: list[list[Directive]]) -> list[list[Directive]]:
    """The blocks from `block` down to the first one holding fastcgi_pass."""
    here = [*chain, block]
    if any(d["directive"] == "fastcgi_pass" for d in block):
        return here
    for d in block:
        if d["directive"] in ("location", "if") and "block" in d:
            found = _php_chain(d["block"], here)
            if found:
                return found
    return []


def read_nginx_site(config: SiteConfig) -> NginxSite:
    """Parse the site's nginx config; a clear PremortemError when it cannot be used."""
    if not config.server_config:
        raise PremortemError("premortem.toml has no server_config (the site's nginx.conf)")
    conf = Path(config.server_config)
    if not conf.is_file():
        raise PremortemError(f"server_config {conf} does not exist")
    payload = crossplane.parse(str(conf), combine=True, check_ctx=False, check_args=False)
    if payload["errors"]:
        first = payload["errors"][0]
        raise PremortemError(
            f"cannot parse nginx config {first.get('file')}:{first.get('line')}: "
            f"{first.get('error')}"
        )
    top: list[Directive] = payload["config"][0]["parsed"]
    http = next((d for d in top if d["directive"] == "http"), None)
    if http is None:
        raise PremortemError(f"{conf} has no http block")
    servers = [d for d in http.get("block", []) if d["directive"] == "server"]
    docroot = os.path.normpath(config.docroot)
    port = _port_of(config.url)

    def has_docroot(server: Directive) -> bool:
        root = _last(server.get("block", []), "root")
        return root is not None and os.path.normpath(root[0]) == docroot

    def has_port(server: Directive) -> bool:
        return any(
            _listen_port(d["args"]) == port
            for d in server.get("block", [])
            if d["directive"] == "listen"
        )

    chosen = next((s for s in servers if has_docroot(s) and has_port(s)), None)
    chosen = chosen or next((s for s in servers if has_docroot(s)), None)
    if chosen is None:
        raise PremortemError(
            f"no server block of {conf} has `root {config.docroot}`: deploy switches that link"
        )
    site = NginxSite(conf, top, http, chosen)
    site.php_chain = _php_chain(chosen.get("block", []), [http.get("block", [])])
    passed = _last(site.php_chain[-1], "fastcgi_pass") if site.php_chain else None
    if passed:
        upstreams = {
            d["args"][0]: [s["args"][0] for s in d.get("block", []) if s["directive"] == "server"]
            for d in http.get("block", [])
            if d["directive"] == "upstream" and d["args"]
        }
        site.fastcgi_address = next(iter(upstreams.get(passed[0], [])), passed[0])
    return site


def _replace_root(value: str, docroot: str, release: str) -> str:
    if value == docroot or value.startswith(docroot + "/"):
        return release + value[len(docroot) :]
    return value


def _stage_block(
    block: list[Directive], docroot: str, release: Path, stage_dir: Path, counter: list[int]
) -> list[Directive]:
    out: list[Directive] = []
    for d in block:
        name = d["directive"]
        if name in ("access_log", "error_log"):
            continue  # one of each, the stage's own, is set at the top
        item = {"directive": name, "args": list(d["args"])}
        if name in ("root", "alias") and item["args"]:
            item["args"][0] = _replace_root(item["args"][0], docroot, str(release))
        if name.endswith("_cache_path") and item["args"]:
            counter[0] += 1
            item["args"][0] = str(stage_dir / f"cache-{counter[0]}")
        if "block" in d:
            item["block"] = _stage_block(d["block"], docroot, release, stage_dir, counter)
        out.append(item)
    return out


def stage_nginx_config(
    site: NginxSite, docroot: str, release: Path, stage_dir: Path, port: int
) -> str:
    """The stage's nginx.conf text: the site's server block on 127.0.0.1:`port`, serving
    `release`, with its own PID file and logs under `stage_dir`."""
    docroot = os.path.normpath(docroot)
    counter = [0]
    top: list[Directive] = [
        {"directive": "pid", "args": [str(stage_dir / "nginx.pid")]},
        {"directive": "error_log", "args": [str(stage_dir / "error.log"), "warn"]},
    ]
    for d in site.top:
        name = d["directive"]
        if name in ("pid", "error_log", "daemon", "stream", "mail"):
            continue
        if name != "http":
            top.extend(_stage_block([d], docroot, release, stage_dir, counter))
            continue
        http_block: list[Directive] = [
            {"directive": "access_log", "args": [str(stage_dir / "access.log"), "combined"]},
        ]
        for inner in d.get("block", []):
            if inner["directive"] == "server" and inner is not site.server:
                continue  # other sites stay out of the stage
            if inner is site.server:
                server_block = [
                    {"directive": "listen", "args": [f"127.0.0.1:{port}"]},
                    *(
                        x
                        for x in _stage_block(
                            inner.get("block", []), docroot, release, stage_dir, counter
                        )
                        if x["directive"] != "listen"
                    ),
                ]
                http_block.append({"directive": "server", "args": [], "block": server_block})
                continue
            http_block.extend(_stage_block([inner], docroot, release, stage_dir, counter))
        top.append({"directive": "http", "args": [], "block": http_block})
    header = "# Written by premortem deploy: the stage of one release (derived from\n"
    header += f"# {site.config_file}); stopped when the stage is over.\n"
    body: str = crossplane.build(top, indent=4)
    return header + body + "\n"


def nginx_command(conf: Path, prefix: Path, error_log: Path) -> list[str]:
    return [NGINX_BIN, "-c", str(conf), "-p", f"{prefix}/", "-e", str(error_log)]


def run_nginx(
    command: list[str], *args: str, timeout: float = 20.0
) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LANG": "C"}
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=timeout,
        start_new_session=True,
    )


def nginx_master_pid(site: NginxSite, config: SiteConfig) -> int:
    """The running master of the site's nginx, from its PID file."""
    candidates = [site.pid_file]
    if config.nginx_pid_file:
        candidates.insert(0, config.nginx_pid_file)
    for pid_file in candidates:
        try:
            pid = int(Path(pid_file).read_text().strip())
            if psutil.Process(pid).name().startswith("nginx"):
                return pid
        except (OSError, ValueError, psutil.Error):
            continue
    raise PremortemError(f"the site's nginx is not running (no live master in {candidates[0]})")


def reload_nginx(site: NginxSite, config: SiteConfig, timeout: float = 15.0) -> None:
    """Graceful reload (SIGHUP): new workers start with empty open-file caches, the old ones
    finish their requests; the master keeps its listening sockets. Refused when the config
    does not load."""
    master = nginx_master_pid(site, config)
    test = run_nginx([NGINX_BIN, "-c", str(site.config_file)], "-t", "-q", timeout=timeout)
    if test.returncode != 0:
        raise PremortemError(f"nginx config test failed: {test.stderr.strip()[-500:]}")
    try:
        old = psutil.Process(master).children()
    except psutil.Error:
        old = []
    os.kill(master, signal.SIGHUP)
    # Done when the workers that held the old caches are gone.
    deadline = time.monotonic() + timeout
    _gone, alive = psutil.wait_procs(old, timeout=max(0.0, deadline - time.monotonic()))
    if alive:
        raise PremortemError(f"nginx workers {[p.pid for p in alive]} did not leave after a reload")
