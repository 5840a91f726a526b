"""The lab reads the configs it wrote back through premortem's own readers (readers/).

What the lab's premortem.toml tells later commands (the docroot, the logs, the PID files, the
php-fpm socket and logs) must be what the server and php-fpm configs really say, read the way
check and diagnose read any site's configs. `read_back()` reads them; `verify_read_back()`
compares with what the lab meant to write and says every difference (a renderer and a
reader that drifted apart would otherwise make diagnose look in the wrong place only on a
real site).
"""

from __future__ import annotations

import os

from premortem.errors import PremortemError
from premortem.ops.lab.layout import LabPaths
from premortem.readers.apache import read_apache_config
from premortem.readers.apache import site_summary as apache_site
from premortem.readers.nginx import read_nginx_config
from premortem.readers.nginx import site_summary as nginx_site
from premortem.readers.phpfpm import read_fpm_config

# The facts read back, by the name the lab's site config gives them.
FACTS = (
    "docroot",
    "error_log",
    "access_log",
    "server_pid_file",
    "php_fpm_pid_file",
    "php_fpm_log",
    "php_fpm_socket",
    "php_error_log",
)


def read_back(server: str, paths: LabPaths, port: int, address: str) -> dict[str, str]:
    """What premortem's readers read in the configs of the lab's `server` flavour (apache,
    nginx, apache-fpm) for the site on address:port."""
    facts = _nginx(paths, port, address) if server == "nginx" else _apache(paths, port, address)
    if server in ("nginx", "apache-fpm"):
        facts.update(_php_fpm(paths))
    return facts


def meant(server: str, paths: LabPaths) -> dict[str, str]:
    """What the lab writes in those configs (LabPaths), fact by fact."""
    facts = {
        "docroot": str(paths.current),
        "error_log": str(paths.error_log),
        "access_log": str(paths.access_log),
        "server_pid_file": str(paths.nginx_pid if server == "nginx" else paths.apache_pid),
    }
    if server in ("nginx", "apache-fpm"):
        facts.update(
            php_fpm_pid_file=str(paths.fpm_pid),
            php_fpm_log=str(paths.fpm_log),
            php_fpm_socket=str(paths.fpm_socket),
            php_error_log=str(paths.php_error_log),
        )
    return facts


def verify_read_back(server: str, paths: LabPaths, port: int, address: str) -> None:
    """Raise PremortemError naming every fact the readers read otherwise than the lab meant."""
    read = read_back(server, paths, port, address)
    wanted = meant(server, paths)
    wrong = [
        f"{name}: the lab wrote {wanted[name]}, premortem's reader reads "
        + (read.get(name) or "nothing")
        for name in FACTS
        if name in wanted and _norm(read.get(name, "")) != _norm(wanted[name])
    ]
    if wrong:
        raise PremortemError("the lab's configs do not read back as written: " + "; ".join(wrong))


def _apache(paths: LabPaths, port: int, address: str) -> dict[str, str]:
    config = read_apache_config(str(paths.httpd_conf))
    site = apache_site(config, port, address)
    pid = next((d.args[0] for d in config.named("PidFile") if d.args), "")
    return {
        "docroot": site.docroot,
        "error_log": site.error_log,
        "access_log": site.access_log,
        "server_pid_file": pid,
    }


def _nginx(paths: LabPaths, port: int, address: str) -> dict[str, str]:
    config = read_nginx_config(str(paths.nginx_conf))
    site = nginx_site(config, config.server_for(port, address))
    pid = next((d["args"][0] for d in config.top if d["directive"] == "pid" and d["args"]), "")
    return {
        "docroot": site.docroot,
        "error_log": site.error_log,
        "access_log": site.access_log,
        "server_pid_file": pid,
    }


def _php_fpm(paths: LabPaths) -> dict[str, str]:
    settings, pools = read_fpm_config(str(paths.fpm_conf))
    facts = {
        "php_fpm_pid_file": settings.get("pid", ""),
        "php_fpm_log": settings.get("error_log", ""),
    }
    pool = next(iter(pools), None)
    if pool is not None:
        facts["php_fpm_socket"] = pool.listen
        facts["php_error_log"] = pool.php_settings.get("error_log", "")
    return facts


def _norm(path: str) -> str:
    return os.path.normpath(path) if path else ""
