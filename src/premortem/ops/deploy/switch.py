"""Point `current` at a release atomically, then make the web server see the new code.

The switch writes a new symlink beside `current` and renames it over `current`: rename(2) is
atomic, so every request sees either the old release or the new one, never a missing docroot.

Making the server see it: mod_php keeps a per-process realpath cache (120 s by default) that
maps `current/...` to the old release's files, so right after the switch Apache children would
keep serving the old code for up to two minutes. A **graceful restart** (`apache2 -f CONF -k
graceful`, SIGUSR1 to the parent) replaces the children: each finishes its current request
and exits, new children start with empty caches, and the parent keeps its listening sockets,
so no connection is refused. (opcache: the Apache lab runs mod_php with opcache on, keyed by
real paths (`opcache.revalidate_path`) and revalidated on every request, where the deploy
tests measure no failed request; on php-fpm opcache keys scripts by the unresolved
`current/` path unless told otherwise, see phpfpm.py.)

nginx + php-fpm: nginx resolves `root` on each request and keeps no cache of it, unless
`open_file_cache` is on (it caches descriptors and lookups by path, `current/...` included):
then a graceful nginx reload (SIGHUP) follows the switch. PHP runs in php-fpm's long-lived
workers, whose realpath cache keeps mapping `current/...` to the old release when nginx passes
SCRIPT_FILENAME from `$document_root`; then the workers are replaced gracefully (see
`phpfpm.py`). With `$realpath_root` PHP never sees the link and nothing needs refreshing.

Apache + php-fpm (a proxy_fcgi handler): Apache passes the path through `current/`, so the
pool is refreshed as for nginx with `$document_root`, and Apache is not restarted
(`apache_fpm.py`).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from premortem.errors import PremortemError
from premortem.ops.deploy.apache import apache_command, apache_env
from premortem.ops.deploy.apache_fpm import apache_fcgi_address
from premortem.ops.deploy.nginx import read_nginx_site, reload_nginx
from premortem.ops.deploy.phpfpm import find_pool, refresh_workers
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


def reload_server(config: SiteConfig, timeout: float = 30.0, *, may_cut: bool = False) -> list[str]:
    """Make the site's server see the release `current` now names, without refusing or
    cutting a request (`may_cut`: rollback's case, see phpfpm.py); returns what was done."""
    if config.server == "nginx":
        return _refresh_nginx(config, timeout, may_cut)
    if config.server != "apache":
        raise PremortemError(f"reloading a {config.server!r} server is not supported")
    if not config.server_config:
        raise PremortemError("premortem.toml has no server_config: cannot reload Apache")
    fcgi = apache_fcgi_address(config)
    if fcgi:
        # PHP runs in php-fpm (apache_fpm.py): its pool is what holds the old release.
        started = time.monotonic()
        method = refresh_workers(find_pool(config, fcgi), may_cut=may_cut, timeout=timeout)
        return [f"php-fpm {method} {time.monotonic() - started:.3f}s (Apache: no PHP, no restart)"]
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
    return [f"apache graceful restart {time.monotonic() - started:.3f}s"]


def _refresh_nginx(config: SiteConfig, timeout: float, may_cut: bool) -> list[str]:

    site = read_nginx_site(config)
    done: list[str] = []
    if site.open_file_cache:
        started = time.monotonic()
        reload_nginx(site, config, timeout)
        done.append(f"nginx reload (open_file_cache on) {time.monotonic() - started:.3f}s")
    if site.resolves_current_link:
        done.append("php-fpm: nothing to refresh (SCRIPT_FILENAME from $realpath_root)")
    else:
        started = time.monotonic()
        pool = find_pool(config, site.fastcgi_address)
        method = refresh_workers(pool, may_cut=may_cut, timeout=timeout)
        done.append(f"php-fpm {method} {time.monotonic() - started:.3f}s")
    return done
