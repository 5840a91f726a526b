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
from pathlib import Path
from urllib.parse import urlsplit

import crossplane
import psutil

from premortem.errors import PremortemError
from premortem.readers.nginx import Directive, NginxServerBlock, read_nginx_config
from premortem.siteconfig import SiteConfig

NGINX_BIN = "/usr/sbin/nginx"


def read_nginx_site(config: SiteConfig) -> NginxServerBlock:
    """The site's server block (its `root` is the docroot); a clear PremortemError when the
    config cannot be used."""
    if not config.server_config:
        raise PremortemError("premortem.toml has no server_config (the site's nginx.conf)")
    conf = Path(config.server_config)
    if not conf.is_file():
        raise PremortemError(f"server_config {conf} does not exist")
    parsed = read_nginx_config(str(conf))
    if parsed.problems:
        raise PremortemError(f"cannot parse nginx config {parsed.problems[0]}")
    if parsed.http is None:
        raise PremortemError(f"{conf} has no http block")
    parts = urlsplit(config.url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    site = parsed.server_with_root(config.docroot, port)
    if site is None:
        raise PremortemError(
            f"no server block of {conf} has `root {config.docroot}`: deploy switches that link"
        )
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
    site: NginxServerBlock, docroot: str, release: Path, stage_dir: Path, port: int
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


def nginx_master_pid(site: NginxServerBlock, config: SiteConfig) -> int:
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


def reload_nginx(site: NginxServerBlock, config: SiteConfig, timeout: float = 15.0) -> None:
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
