"""Stage: serve a release on a side port with the site's own server and settings, smoke-test it.

This is the seed postmortem's missing QA environment. For Apache the stage config is derived
from the site's `server_config`: includes are inlined, then every `Listen` is replaced by one
loopback side port, `<VirtualHost>` addresses by that port, the site's docroot by the new
release's path (DocumentRoot, <Directory>, aliases), and PidFile, logs and runtime dir move
under `<state_dir>/stage/`. Same binary, modules, php.ini and vhost settings as production.
For nginx a second nginx runs a config derived the same way (see `nginx.py`) and passes PHP
to the site's own php-fpm pool, so PHP runs with production's pool settings.
Requests carry the production Host header so name-based vhosts and WordPress's canonical
URLs behave as in production; redirects are not followed (they would leave the stage).
A release passes when every smoke path answers < 500 with its page (a 2xx answer with an
empty body, an HTML one without `<html`, or one under a tenth of what the previous release
served for that path fails: `lost_body()`) and the stage's error log (nginx: also the pool's
PHP error log, lines naming the release) has no PHP fatal or parse error. The
stage server is always stopped afterwards, and one left running by a deploy that was killed is
stopped by the next deploy.
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil

from premortem.collectors.http import lost_body
from premortem.collectors.target import Target, site_client
from premortem.errors import PremortemError
from premortem.ops.deploy.apache import (
    DEBIAN_CONFDIR,
    apache_command,
    apache_env,
    debian_confdir,
)
from premortem.ops.deploy.apache_fpm import apache_fcgi_address
from premortem.ops.deploy.nginx import (
    nginx_command,
    read_nginx_site,
    run_nginx,
    stage_nginx_config,
)
from premortem.ops.deploy.phpfpm import FpmPool, find_pool
from premortem.ops.deploy.safefs import refuse_untrusted_dir, write_file_nofollow
from premortem.ops.lab.procs import terminate
from premortem.readers.apache import inline_includes
from premortem.redact import redact
from premortem.siteconfig import SiteConfig

# premortem's own requests say so: the access-log counts of verify leave them out.
PROBE_AGENT = "premortem-probe/1"
PROBE_HEADERS = {"User-Agent": PROBE_AGENT}
PHP_FATAL = re.compile(r"PHP (Fatal error|Parse error)|Uncaught (Error|Exception)")
_DIRECTIVE = re.compile(r"^(\s*)(</?)?([A-Za-z][A-Za-z0-9_]*)\b\s*(.*?)\s*$")


@dataclass
class SmokeResult:
    path: str
    status: int | None
    seconds: float
    error: str | None = None
    size: int | None = None  # body bytes
    # Why a 2xx answer lost its page (collectors.http.lost_body), None when it did not.
    body_problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 500 and self.body_problem is None

    def answer(self) -> str:
        """`500`, `200 with an empty body`, `ReadError` (no answer)."""
        answer = str(self.status) if self.status is not None else str(self.error)
        return answer + (f" with {self.body_problem}" if self.body_problem else "")

    def describe(self) -> str:
        return f"{self.path} -> {self.answer()}"


@dataclass(frozen=True)
class StageServer:
    """A stage server while it runs: where to send requests (`base`, with `host` as the
    Host header, through `target`), for work done while it is up (`run_stage(while_up=)`)."""

    base: str
    host: str | None
    target: Target
    port: int


@dataclass
class StageWork:
    """What to do with the stage once it listens: smoke `paths` (None: the config's smoke
    paths), comparing pages with `sizes`, then `while_up` (the replay)."""

    sizes: dict[str, int] = field(default_factory=dict)
    paths: list[str] | None = None
    while_up: Callable[[StageServer], None] | None = None


@dataclass
class StageResult:
    port: int
    smoke: list[SmokeResult] = field(default_factory=list)
    fatals: list[str] = field(default_factory=list)
    # PHP fatals logged while `while_up` ran (the replay's): not the smoke test's verdict.
    while_up_fatals: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.smoke) and not self.fatals

    @property
    def sizes(self) -> dict[str, int]:
        """Body sizes of the paths that answered a good page: what the next deploy compares."""
        return good_page_sizes(self.smoke)

    def summary(self) -> str:
        parts = [s.describe() for s in self.smoke]
        if self.fatals:
            parts.append(f"{len(self.fatals)} PHP fatal(s) logged while staging: {self.fatals[0]}")
        return "; ".join(parts)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def flatten_apache_config(conf: Path) -> list[str]:
    """The config's logical lines with Include/IncludeOptional inlined (glob order, as Apache)."""
    return _flatten(conf)[1]


def _flatten(conf: Path) -> tuple[Path, list[str]]:
    # Debian's apache2.conf has no ServerRoot: apache2ctl gives it as -d (its confdir).
    default_root = debian_confdir(conf) or DEBIAN_CONFDIR
    root, lines, problems = inline_includes(str(conf), str(default_root))
    if problems:
        file, line, _severity, message = problems[0]
        raise PremortemError(f"Apache config {file}{f':{line}' if line else ''}: {message}")
    return Path(root), lines


def _replace_path(value: str, old: str, new: str) -> str:
    """Replace the path `old` (and anything under it) by `new` inside a directive's arguments."""
    old = old.rstrip("/")
    return re.sub(re.escape(old) + r"(?=[/\"'\s>]|$)", new.replace("\\", "\\\\"), value)


def stage_apache_config(
    config: SiteConfig, release: Path, stage_dir: Path, port: int
) -> tuple[str, Path]:
    """The derived config text and the ServerRoot to run it with."""
    conf = Path(config.server_config)
    server_root, lines = _flatten(conf)
    docroots = {config.docroot.rstrip("/")}
    out: list[str] = [
        f'ServerRoot "{server_root}"',
        f"Listen 127.0.0.1:{port}",
        f'PidFile "{stage_dir / "httpd.pid"}"',
        f'DefaultRuntimeDir "{stage_dir}"',
        f'ErrorLog "{stage_dir / "error.log"}"',
    ]
    for line in lines:
        match = _DIRECTIVE.match(line)
        if not match:
            out.append(line)
            continue
        indent, closing, name, args = match.groups()
        key = name.lower()
        if closing == "<" and key == "virtualhost":
            out.append(f"{indent}<VirtualHost 127.0.0.1:{port}>")
            continue
        if closing:
            for root in docroots:
                line = _replace_path(line, root, str(release))
            out.append(line)
            continue
        if key in ("serverroot", "listen", "pidfile", "defaultruntimedir"):
            continue
        if key == "mutex" and args.startswith("file:"):
            # File mutexes beside the stage's own files, never in production's run dir.
            rest = args.split(None, 1)[1] if " " in args else ""
            out.append(f"{indent}Mutex file:{stage_dir} {rest}".rstrip())
            continue
        if key == "errorlog":
            out.append(f'{indent}ErrorLog "{stage_dir / "error.log"}"')
            continue
        if key in ("customlog", "transferlog"):
            rest = re.sub(r'^("[^"]*"|\S+)', "", args, count=1)
            out.append(f'{indent}{name} "{stage_dir / "access.log"}"{rest}')
            continue
        for root in docroots:
            line = _replace_path(line, root, str(release))
        out.append(line)
    return "\n".join(out) + "\n", server_root


def _stop_pid(pid: int, timeout: float = 10.0) -> None:
    # A zombie counts as stopped: a daemon's master is re-parented to a PID 1 that may be
    # slow to reap it (psutil's wait would wait for the reaping, up to seconds).
    terminate(pid, timeout)


STAGE_PID_FILES = ("httpd.pid", "nginx.pid")


def stop_leftover_stage(stage_dir: Path) -> bool:
    """Stop a stage server a killed deploy left running; True if there was one."""
    stopped = False
    for name in STAGE_PID_FILES:
        pid_file = stage_dir / name
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            continue
        try:
            cmdline = " ".join(psutil.Process(pid).cmdline())
            if str(stage_dir / "stage.conf") in cmdline:
                _stop_pid(pid)
                stopped = True
        except psutil.NoSuchProcess:
            pass
        pid_file.unlink(missing_ok=True)
    return stopped


def _wait_listening(port: int, pid_file: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if pid_file.exists():
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise PremortemError(f"the stage server did not start listening on 127.0.0.1:{port}")


def _fatal_lines(error_log: Path, offset: int = 0, mentioning: str | None = None) -> list[str]:
    """PHP fatals in `error_log` after byte `offset`; only lines naming `mentioning` when
    given (a log production writes to as well)."""
    try:
        with open(error_log, "rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    fatals: list[str] = []
    for line in text.splitlines():
        if mentioning is not None and mentioning not in line:
            continue
        match = PHP_FATAL.search(line)
        if match:
            # PHP logs the stack trace on the same line with literal "\n": keep the message.
            message = line[match.start() :].split("\\n", 1)[0][:300]
            fatals.append(redact(message))  # they reach events and output
    return fatals


def good_page_sizes(smoke: list[SmokeResult]) -> dict[str, int]:
    return {
        s.path: s.size
        for s in smoke
        if s.ok and s.size is not None and s.status is not None and 200 <= s.status < 300
    }


def smoke_request(
    client: httpx.Client,
    base: str,
    path: str,
    host_header: str | None,
    previous_size: int | None = None,
) -> SmokeResult:
    """GET one smoke path; `previous_size` is what the previous release served for it."""
    started = time.monotonic()
    headers = {"Host": host_header} if host_header else {}
    try:
        response = client.get(base.rstrip("/") + "/" + path.lstrip("/"), headers=headers)
    except httpx.HTTPError as exc:
        return SmokeResult(path, None, time.monotonic() - started, type(exc).__name__)
    content_type = response.headers.get("content-type", "")
    return SmokeResult(
        path,
        response.status_code,
        time.monotonic() - started,
        size=len(response.content),
        body_problem=lost_body(response.status_code, content_type, response.content, previous_size),
    )


def run_stage(
    config: SiteConfig,
    release: Path,
    state_dir: Path,
    *,
    timeout: float = 20.0,
    previous_sizes: dict[str, int] | None = None,
    paths: list[str] | None = None,
    while_up: Callable[[StageServer], None] | None = None,
) -> StageResult:
    """Start the stage server for `release`, smoke-test it (pages compared with
    `previous_sizes`, the previous release's body size per path; `paths` instead of the
    config's smoke paths), run `while_up` while it serves, stop it (always)."""
    work = StageWork(previous_sizes or {}, paths, while_up)
    if config.server not in ("apache", "nginx"):
        raise PremortemError(
            f"staging a {config.server!r} site is not supported (apache or nginx); use --no-stage"
        )
    if not config.server_config:
        raise PremortemError("premortem.toml has no server_config: cannot derive a stage")
    stage_dir = state_dir / "stage"
    stage_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
    # The stage server (root) writes its logs and pid file there, as premortem its config.
    refuse_untrusted_dir(stage_dir, "the stage dir")
    stop_leftover_stage(stage_dir)
    for name in ("error.log", "access.log"):
        (stage_dir / name).unlink(missing_ok=True)
    port = free_port()
    if config.server == "nginx":
        return _run_nginx_stage(config, release, stage_dir, port, timeout, work)
    text, _root = stage_apache_config(config, release, stage_dir, port)
    conf = stage_dir / "stage.conf"
    write_file_nofollow(conf, text.encode("utf-8"))
    command = apache_command(conf)
    # The site's envvars (a Debian layout's own, e.g. a second instance's), then the stage's.
    env = apache_env(Path(config.server_config))
    env["APACHE_PID_FILE"] = str(stage_dir / "httpd.pid")
    env["APACHE_RUN_DIR"] = str(stage_dir)
    env["APACHE_LOG_DIR"] = str(stage_dir)
    test = subprocess.run(
        [*command, "-t"], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if test.returncode != 0:
        raise PremortemError(
            f"the derived stage config does not load: {test.stderr.strip()[-500:]}"
        )
    fcgi = apache_fcgi_address(config)
    # Apache + php-fpm: the stage's PHP runs in the site's pool, which logs where it logs.
    fatals = _pool_fatals(find_pool(config, fcgi), release) if fcgi else list
    start = subprocess.run(
        [*command, "-k", "start"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return _smoke_stage(config, start, port, stage_dir / "httpd.pid", timeout, work, fatals)


def _pool_fatals(pool: FpmPool, release: Path) -> Callable[[], list[str]]:
    """The PHP fatals the pool logs from now on about `release` (production logs there too)."""
    php_log = Path(pool.php_error_log) if pool.php_error_log else None
    offset = php_log.stat().st_size if php_log and php_log.exists() else 0

    def fatals() -> list[str]:
        if php_log is None:
            return []
        return _fatal_lines(php_log, offset, mentioning=str(release))

    return fatals


def stage_server(config: SiteConfig, port: int) -> StageServer:
    """How to reach the stage on `port` as production's users reach the site."""
    parts = urlsplit(config.url)
    host = parts.netloc or None
    base = f"http://127.0.0.1:{port}"
    if parts.scheme == "https" and parts.hostname:
        # The stage keeps the site's TLS settings: ask it under the site's name (SNI, Host,
        # the certificate checked against the name) on its own port.
        base, host = f"https://{parts.hostname}:{port}", None
    return StageServer(base, host, Target(address="127.0.0.1", ca_file=config.ca_file), port)


def _smoke(
    config: SiteConfig, result: StageResult, port: int, timeout: float, work: StageWork
) -> None:
    server = stage_server(config, port)
    paths = (config.smoke_paths or ["/"]) if work.paths is None else work.paths
    with site_client(server.target, timeout=timeout, headers=PROBE_HEADERS) as client:
        for path in paths:
            result.smoke.append(
                smoke_request(client, server.base, path, server.host, work.sizes.get(path))
            )


def _smoke_stage(
    config: SiteConfig,
    start: subprocess.CompletedProcess[str],
    port: int,
    pid_file: Path,
    timeout: float,
    work: StageWork,
    more_fatals: Callable[[], list[str]] = list,
) -> StageResult:
    """Once the stage server started: wait for it, smoke-test it, collect the PHP fatals of
    its error log (beside `pid_file`) and `more_fatals`, and always stop it."""
    if start.returncode != 0:
        raise PremortemError(f"the stage server did not start: {start.stderr.strip()[-500:]}")
    result = StageResult(port=port)
    error_log = pid_file.parent / "error.log"
    try:
        _wait_listening(port, pid_file, timeout)
        _smoke(config, result, port, timeout, work)
        own, pool = _fatal_lines(error_log), more_fatals()
        result.fatals = own + pool
        if work.while_up is not None and result.ok:  # a failed smoke test stops the deploy
            work.while_up(stage_server(config, port))
            # Both logs only grow while the stage runs: what follows is the while_up's.
            later = _fatal_lines(error_log)[len(own) :] + more_fatals()[len(pool) :]
            result.while_up_fatals = later
    finally:
        _stop_stage(pid_file)
    return result


def _stop_stage(pid_file: Path) -> None:
    with contextlib.suppress(OSError, ValueError):
        _stop_pid(int(pid_file.read_text().strip()))
    pid_file.unlink(missing_ok=True)


def _run_nginx_stage(
    config: SiteConfig,
    release: Path,
    stage_dir: Path,
    port: int,
    timeout: float,
    work: StageWork,
) -> StageResult:
    """nginx: a second nginx on the side port passing PHP to the site's own php-fpm pool.

    PHP's messages go where the pool sends them: its error_log file (read from the offset it
    had before the stage, lines naming the release only: production writes there too) or,
    without one, nginx's error log ("FastCGI sent in stderr"), which is the stage's own.
    """

    site = read_nginx_site(config)
    pool = find_pool(config, site.fastcgi_address)
    conf = stage_dir / "stage.conf"
    text = stage_nginx_config(site, config.docroot, release, stage_dir, port)
    write_file_nofollow(conf, text.encode("utf-8"))
    command = nginx_command(conf, stage_dir, stage_dir / "error.log")
    test = run_nginx(command, "-t", "-q", timeout=timeout)
    if test.returncode != 0:
        raise PremortemError(
            f"the derived stage config does not load: {test.stderr.strip()[-500:]}"
        )
    pool_fatals = _pool_fatals(pool, release)
    start = run_nginx(command, timeout=timeout)
    return _smoke_stage(config, start, port, stage_dir / "nginx.pid", timeout, work, pool_fatals)
