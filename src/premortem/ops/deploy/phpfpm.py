"""Make the site's php-fpm workers forget the old release, without dropping a request.

Why it is needed: nginx passes PHP the script's path in SCRIPT_FILENAME. Built from
`$document_root` (Debian's fastcgi.conf) that path goes through `current/`, and every php-fpm
worker's realpath cache (realpath_cache_ttl, 120 s by default) keeps resolving it to the old
release after the switch. opcache, when on, keeps the old release's compiled scripts under
that same unresolved path, in memory shared by all workers, and its timestamp check looks at
the cached script's own file (the old release's, unchanged), so it serves the old code until
its memory is dropped (measured on the lab, with validate_timestamps on and off alike). Built
from `$realpath_root`, nginx resolves the link on each request, PHP only sees the release's
own paths, and nothing in php-fpm needs refreshing.

How: a php-fpm reload (SIGUSR2 to the master) re-executes the master: new shared memory
(opcache) and new workers (empty realpath caches). It is graceful only when the master's
`process_control_timeout` is above 0: the old workers get SIGQUIT (finish the request, then
exit) and SIGTERM only after that timeout. With the default 0, SIGTERM follows at once and
in-flight requests are cut (measured on the lab: 13 of 50 requests answered 502 over five
reloads under 8 clients). So, when PHP sees `current/`:
- `process_control_timeout` > 0: reload;
- 0 and opcache off for the pool: restart the workers (SIGQUIT to each: it finishes its
  request and exits, the master forks a fresh one), which empties the realpath caches and
  cuts nothing;
- 0 and opcache on (PHP's default): nothing short of a reload makes PHP run the new code,
  and that reload cuts requests. `deploy` refuses before anything changes and says which
  setting to change; `rollback` (and deploy's automatic rollback) reloads anyway, and says
  so: taking a broken release down matters more than a few requests in flight.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from premortem.collectors.phpfpm import collect_php_fpm, running_masters
from premortem.errors import PremortemError
from premortem.host import LocalHost
from premortem.ops.deploy.apache_fpm import apache_fcgi_address
from premortem.ops.deploy.nginx import read_nginx_site
from premortem.ops.lab.procs import is_alive
from premortem.readers.phpfpm import pool_php_values, read_fpm_config
from premortem.readers.phpini import fpm_inis
from premortem.siteconfig import SiteConfig


@dataclass
class FpmPool:
    master_pid: int
    config_file: str
    process_control_timeout: float
    php_error_log: str
    opcache: bool = True

    @property
    def refresh_cuts_requests(self) -> bool:
        """Whether making PHP run new code under the same paths cuts requests in flight."""
        return self.opcache and self.process_control_timeout <= 0


CUT_WARNING = (
    "php-fpm has process_control_timeout = 0 and opcache on, and "
    "nginx passes SCRIPT_FILENAME through the `current` link: only a php-fpm reload makes PHP "
    "run the new code, and that reload cuts requests in flight. Set process_control_timeout = "
    "10s in php-fpm's global section (a reload then lets workers finish), or pass "
    "SCRIPT_FILENAME from $realpath_root in nginx (nothing to reload)"
)
_INI_LINE = re.compile(r"^\s*([A-Za-z0-9_.\[\]]+)\s*=\s*(.*?)\s*$")
_OFF = ("0", "off", "no", "false", "")


def _ini_values(path: str, names: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return values
    for line in text.splitlines():
        match = _INI_LINE.match(line)
        if match and match.group(1) in names:
            values[match.group(1)] = match.group(2).strip("\"'")
    return values


def opcache_settings(fpm_config: str, pool_file: str, pool_name: str) -> dict[str, str]:
    """opcache's settings for the pool's workers: the FPM SAPI's php.ini and conf.d, then the
    pool's own php_*[opcache.*]; "loaded" says whether the extension is loaded at all."""
    names = ("opcache.enable",)
    settings = {"loaded": "0", "opcache.enable": "1"}
    for ini in fpm_inis(fpm_config):
        found = _ini_values(ini, ("zend_extension", *names))
        if "opcache" in found.pop("zend_extension", ""):
            settings["loaded"] = "1"
        settings.update(found)
    pool_values = pool_php_values(pool_file, pool_name) if pool_file else {}
    settings.update({name: pool_values[name] for name in names if name in pool_values})
    return settings


def _on(value: str) -> bool:
    return value.lower() not in _OFF


def _seconds(value: str) -> float:
    """php-fpm time values: 10, 10s, 1m, 1h, 1d."""
    value = value.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    scale = units.get(value[-1:], 1) if value else 1
    digits = value[:-1] if value[-1:] in units else value
    try:
        return float(digits) * scale
    except ValueError:
        return 0.0


def find_pool(config: SiteConfig, fastcgi_address: str) -> FpmPool:
    """The running php-fpm master serving `fastcgi_address` (nginx's fastcgi_pass)."""
    evidence = collect_php_fpm(fastcgi_address, config.php_fpm_config or None, host=LocalHost())
    if evidence.master_pid is None:
        detail = "; ".join(evidence.problems) or "its master is not running"
        raise PremortemError(f"no running php-fpm serves {fastcgi_address or '?'}: {detail}")
    global_settings, _pools = read_fpm_config(evidence.config_file)
    pool = evidence.pool
    opcache = opcache_settings(
        evidence.config_file, pool.file if pool else "", pool.name if pool else ""
    )
    return FpmPool(
        master_pid=evidence.master_pid,
        config_file=evidence.config_file,
        process_control_timeout=_seconds(global_settings.get("process_control_timeout", "0")),
        php_error_log=evidence.php_error_log,
        opcache=_on(opcache["loaded"]) and _on(opcache["opcache.enable"]),
    )


def _workers(master: int) -> list[psutil.Process]:
    try:
        children = psutil.Process(master).children()
    except psutil.Error:
        return []
    alive = []
    for child in children:
        with contextlib.suppress(psutil.Error):
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.append(child)
    return alive


def _master_of(config_file: str) -> int | None:
    real = os.path.realpath(config_file)
    return next(
        (pid for pid, conf in running_masters(LocalHost()) if os.path.realpath(conf) == real), None
    )


def _wait_workers(pool: FpmPool, old: set[int], timeout: float) -> int:
    """Until no worker of `old` is alive and a master of the pool's config runs; returns its
    PID (a daemonizing master re-executed by a reload forks anew). New requests wait in the
    socket's backlog until the master's fresh workers accept them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(is_alive(pid) for pid in old):
            master = _master_of(pool.config_file)
            if master is not None:
                return master
        time.sleep(0.02)
    raise PremortemError(
        f"php-fpm ({pool.config_file}) did not replace its workers in {timeout:.0f}s"
    )


def refresh_workers(pool: FpmPool, *, may_cut: bool = False, timeout: float = 30.0) -> str:
    """Make the pool's workers run the code now under `current/` (see the module's docstring
    for how); returns what was done, for the record. `may_cut`: reload even when that cuts
    requests in flight (rollback); otherwise that case is a PremortemError."""
    master = pool.master_pid
    old = {p.pid for p in _workers(master)}
    if pool.process_control_timeout > 0 or pool.refresh_cuts_requests:
        if pool.process_control_timeout <= 0 and not may_cut:
            raise PremortemError(CUT_WARNING)
        os.kill(master, signal.SIGUSR2)
        pool.master_pid = _wait_workers(pool, old, max(timeout, pool.process_control_timeout + 5))
        if pool.process_control_timeout > 0:
            return "reload"
        return "reload (process_control_timeout = 0: requests in flight may be cut)"
    for pid in sorted(old):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)
    _wait_workers(pool, old, timeout)
    return "worker-restart"


def pool_to_reload_after_edits(config: SiteConfig) -> FpmPool | None:
    """For `fix`: the php-fpm pool to reload after PHP files were rewritten in place, or None.

    The paths do not change, so realpath caches are right; opcache is what may hold the old
    code: with validate_timestamps on it re-reads a changed file within revalidate_freq
    seconds (2 by default), with it off never. When opcache is on and a reload is graceful
    (process_control_timeout > 0) the pool is reloaded; otherwise fix relies on opcache's
    own checks, and its re-probe (which restores the backup when the site stays unhealthy)
    shows whether that was enough.
    """
    try:
        if config.server == "nginx":
            address = read_nginx_site(config).fastcgi_address
        else:
            address = apache_fcgi_address(config)
            if not address:
                return None  # mod_php: fix's re-probe and opcache's own checks suffice
        pool = find_pool(config, address)
    except PremortemError:
        return None  # no running pool: nothing holds old code
    return pool if pool.opcache and pool.process_control_timeout > 0 else None
