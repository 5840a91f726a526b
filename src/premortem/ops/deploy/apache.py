"""Run Debian's `apache2` binary on a given config file.

Debian's configs use `${APACHE_RUN_USER}`-style variables that `/etc/apache2/envvars` defines;
`apache2ctl` sources it, the bare binary does not. We run the binary with `-f CONF` (and `-d`
for the system config) and that environment, so it works for the system Apache and for a
self-contained config like the lab's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from premortem.errors import PremortemError

ENVVARS = Path("/etc/apache2/envvars")


def apache_binary() -> str:
    for name in ("apache2", "httpd"):
        found = shutil.which(name) or (
            f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None
        )
        if found:
            return found
    raise PremortemError("no apache2/httpd binary found on this host")


def apache_command(conf: Path) -> list[str]:
    command = [apache_binary(), "-f", str(conf)]
    if conf.is_relative_to("/etc/apache2"):
        command += ["-d", "/etc/apache2"]
    return command


def apache_env(conf: Path) -> dict[str, str]:
    """The environment with Debian's envvars applied (only when the config uses them)."""
    env = dict(os.environ)
    try:
        text = conf.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    if "${APACHE_" not in text and not conf.is_relative_to("/etc/apache2"):
        return env
    if not ENVVARS.exists():
        return env
    proc = subprocess.run(
        ["sh", "-c", f". {ENVVARS} && env -0"], capture_output=True, check=False, timeout=10
    )
    for item in proc.stdout.split(b"\0"):
        key, sep, value = item.decode(errors="replace").partition("=")
        if sep and key.startswith("APACHE_"):
            env[key] = value
    return env
