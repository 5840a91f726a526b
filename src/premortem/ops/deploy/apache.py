"""Run Debian's `apache2` binary on a given config file.

Debian's configs use `${APACHE_RUN_USER}`-style variables that `envvars` (beside apache2.conf)
defines; `apache2ctl` sources it, the bare binary does not. We run the binary with `-f CONF`
(and `-d` for a Debian layout) and that environment, so it works for the system Apache, for a
copy of Debian's layout elsewhere (apache2ctl with APACHE_CONFDIR: a second instance, whose
envvars names its own PID file) and for a self-contained config like the lab's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from premortem.errors import PremortemError

DEBIAN_CONFDIR = Path("/etc/apache2")
ENVVARS = DEBIAN_CONFDIR / "envvars"


def apache_binary() -> str:
    for name in ("apache2", "httpd"):
        found = shutil.which(name) or (
            f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None
        )
        if found:
            return found
    raise PremortemError("no apache2/httpd binary found on this host")


def debian_confdir(conf: Path) -> Path | None:
    """The directory apache2ctl would run `conf` from (its `-d`, APACHE_CONFDIR): /etc/apache2,
    or the config's own directory when Debian's `envvars` is beside it; None for a config
    that is self-contained (its own ServerRoot, no envvars)."""
    if conf.is_relative_to(DEBIAN_CONFDIR):
        return DEBIAN_CONFDIR
    if (conf.parent / "envvars").is_file():
        return conf.parent
    return None


def apache_command(conf: Path) -> list[str]:
    command = [apache_binary(), "-f", str(conf)]
    confdir = debian_confdir(conf)
    if confdir is not None:
        command += ["-d", str(confdir)]
    return command


def apache_env(conf: Path) -> dict[str, str]:
    """The environment with Debian's envvars applied (only when the config uses them): the
    config directory's own envvars, else /etc/apache2's."""
    env = dict(os.environ)
    try:
        text = conf.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    confdir = debian_confdir(conf)
    if "${APACHE_" not in text and confdir is None:
        return env
    envvars = confdir / "envvars" if confdir is not None else ENVVARS
    if not envvars.exists():
        return env
    # As apache2ctl does: envvars reads APACHE_CONFDIR (a /etc/apache2-NAME suffix).
    shell_env = {**env, "APACHE_CONFDIR": str(confdir or DEBIAN_CONFDIR)}
    proc = subprocess.run(
        ["sh", "-c", '. "$0" && env -0', str(envvars)],
        capture_output=True,
        check=False,
        timeout=10,
        env=shell_env,
    )
    for item in proc.stdout.split(b"\0"):
        key, sep, value = item.decode(errors="replace").partition("=")
        if sep and key.startswith("APACHE_"):
            env[key] = value
    return env
