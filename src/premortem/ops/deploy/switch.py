"""Point `current` at a release atomically, then make the web server see the new code.

The switch writes a new symlink beside `current` and renames it over `current`: rename(2) is
atomic, so every request sees either the old release or the new one, never a missing docroot.

Making the server see it: mod_php keeps a per-process realpath cache (120 s by default) that
maps `current/...` to the old release's files, so right after the switch Apache children would
keep serving the old code for up to two minutes. A **graceful restart** (`apache2 -f CONF -k
graceful`, SIGUSR1 to the parent) replaces the children: each finishes its current request
and exits, new children start with empty caches, and the parent keeps its listening sockets,
so no connection is refused. opcache needs nothing more: its keys are resolved paths, which
differ between releases. For nginx + php-fpm the equivalent is `nginx -s reload` plus a
php-fpm reload (SIGUSR2); `deploy` does not support nginx sites yet and says so.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from premortem.errors import PremortemError
from premortem.ops.deploy.apache import apache_command, apache_env
from premortem.ops.deploy.releases import SiteLayout
from premortem.siteconfig import SiteConfig


def switch_current(layout: SiteLayout, release: Path) -> None:
    """Atomically make `current` point at `release`, by a relative link (as the lab does:
    the site tree can move or be bind-mounted and the link still resolves)."""
    link = layout.current_link
    if os.path.lexists(link) and not link.is_symlink():
        raise PremortemError(f"{link} exists and is not a symlink; refusing to replace it")
    tmp = layout.root / f".current.{os.getpid()}"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(os.path.relpath(release, layout.root), tmp)
    os.replace(tmp, link)
    # Make the rename durable before reporting the switch done.
    dir_fd = os.open(layout.root, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def reload_server(config: SiteConfig, timeout: float = 30.0) -> float:
    """Graceful restart of the site's server; returns the seconds it took."""
    if config.server != "apache":
        raise PremortemError(f"reloading a {config.server!r} server is not supported yet")
    if not config.server_config:
        raise PremortemError("premortem.toml has no server_config: cannot reload Apache")
    conf = Path(config.server_config)
    started = time.monotonic()
    proc = subprocess.run(
        [*apache_command(conf), "-k", "graceful"],
        env=apache_env(conf),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise PremortemError(
            f"graceful restart of Apache failed (exit {proc.returncode}): "
            + (proc.stderr or proc.stdout).strip()[-500:]
        )
    return time.monotonic() - started
