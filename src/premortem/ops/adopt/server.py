"""The site's running server, as adopt needs it: which instance, its config test, a reload.

The config test and the reload run with the arguments and environment the running master
was started with (Apache: `-d CONFDIR -f CONF` and the envvars beside it, as apache2ctl does;
nginx: `-c CONF`), checked against the master that listens on the site's port before
anything changes: a reload sent to another instance would leave the site on its old config.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from premortem.collectors.server import collect_server
from premortem.discovery import url_port
from premortem.errors import PremortemError
from premortem.host import Host
from premortem.ops.deploy.apache import apache_command, apache_env, debian_confdir
from premortem.ops.deploy.nginx import NGINX_BIN, read_nginx_site, reload_nginx, run_nginx
from premortem.ops.deploy.switch import reload_server
from premortem.siteconfig import SiteConfig


def _same_file(a: str, b: str) -> bool:
    return bool(a and b) and os.path.realpath(a) == os.path.realpath(b)


def check_running_master(config: SiteConfig, host: Host) -> int:
    """The pid of the site's running master; a PremortemError when the server listening on
    the site's port is not the one `server`/`server_config` name (or nothing listens)."""
    hostname, port = url_port(config.url)
    evidence = collect_server(port, hostname, host=host)
    if evidence.master_pid is None or evidence.kind is None:
        raise PremortemError(
            f"nothing premortem knows listens on port {port}: adopt reloads the running "
            f"{config.server} gracefully, so it must be running"
        )
    site = evidence.apache if evidence.kind == "apache" else evidence.nginx
    running = site.config_file if site is not None else ""
    if evidence.kind != config.server or not _same_file(running, config.server_config):
        raise PremortemError(
            f"port {port} is served by {evidence.kind} (pid {evidence.master_pid}, config "
            f"{running or 'unknown'}), but the config says {config.server} with "
            f"{config.server_config}: fix server/server_config first (`premortem init URL`)"
        )
    if evidence.kind == "apache" and evidence.apache is not None:
        ours = debian_confdir(Path(config.server_config))
        if ours is not None and not _same_file(evidence.apache.server_root, str(ours)):
            raise PremortemError(
                f"the Apache on port {port} runs from {evidence.apache.server_root}, but "
                f"premortem would run it from {ours}"
            )
    return evidence.master_pid


def server_command(config: SiteConfig) -> list[str]:
    """The server binary with the instance's config arguments."""
    conf = Path(config.server_config)
    if config.server == "nginx":
        return [NGINX_BIN, "-c", str(conf)]
    return apache_command(conf)


def test_config(config: SiteConfig, timeout: float = 30.0) -> None:
    """The server's own config test with the instance's arguments; PremortemError if it fails."""
    command = server_command(config)
    if config.server == "nginx":
        proc = run_nginx(command, "-t", "-q", timeout=timeout)
    else:
        proc = subprocess.run(
            [*command, "-t"],
            env=apache_env(Path(config.server_config)),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if proc.returncode != 0:
        output = (proc.stderr or proc.stdout).strip()[-500:]
        raise PremortemError(f"config test `{' '.join(command)} -t` failed: {output}")


def reload_description(config: SiteConfig) -> str:
    if config.server == "nginx":
        return f"reload nginx gracefully (SIGHUP to the master of {config.server_config})"
    command = " ".join(apache_command(Path(config.server_config)))
    return f"restart Apache gracefully ({command} -k graceful, with its envvars)"


def graceful_reload(config: SiteConfig, timeout: float = 30.0) -> str:
    """Make the running server read its edited config without refusing or cutting a request:
    Apache's graceful restart, nginx's SIGHUP. `config.docroot` is what the config now says."""
    started = time.monotonic()
    if config.server == "nginx":
        reload_nginx(read_nginx_site(config), config, timeout)
        return f"nginx reload {time.monotonic() - started:.3f}s"
    return "; ".join(reload_server(config, timeout))
