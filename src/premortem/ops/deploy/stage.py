"""Stage: serve a release on a side port with the site's own server and settings, smoke-test it.

This is the seed postmortem's missing QA environment. For Apache the stage config is derived
from the site's `server_config`: includes are inlined, then every `Listen` is replaced by one
loopback side port, `<VirtualHost>` addresses by that port, the site's docroot by the new
release's path (DocumentRoot, <Directory>, aliases), and PidFile, logs and runtime dir move
under `<state_dir>/stage/`. Same binary, modules, php.ini and vhost settings as production.
Requests carry the production Host header so name-based vhosts and WordPress's canonical
URLs behave as in production; redirects are not followed (they would leave the stage).
A release passes when every smoke path answers < 500 and the stage's error log has no PHP
fatal or parse error. The stage server is always stopped afterwards, and one left running by
a deploy that was killed is stopped by the next deploy.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil

from premortem.errors import PremortemError
from premortem.ops.deploy.apache import apache_command, apache_env
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

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 500


@dataclass
class StageResult:
    port: int
    smoke: list[SmokeResult] = field(default_factory=list)
    fatals: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.smoke) and not self.fatals

    def summary(self) -> str:
        parts = [f"{s.path} -> {s.status if s.status is not None else s.error}" for s in self.smoke]
        if self.fatals:
            parts.append(
                f"{len(self.fatals)} PHP fatal(s) in the stage error log: {self.fatals[0]}"
            )
        return "; ".join(parts)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _logical_lines(text: str) -> list[str]:
    """Join backslash-continued lines, as Apache does."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        lines.append(pending + raw)
        pending = ""
    if pending:
        lines.append(pending)
    return lines


def _server_root(lines: list[str], default: Path) -> Path:
    for line in lines:
        match = _DIRECTIVE.match(line)
        if match and not match.group(2) and match.group(3).lower() == "serverroot":
            return Path(match.group(4).strip('"'))
    return default


def flatten_apache_config(conf: Path, server_root: Path | None = None, depth: int = 0) -> list[str]:
    """The config's logical lines with Include/IncludeOptional inlined (glob order, as Apache)."""
    if depth > 16:
        raise PremortemError(f"Apache includes nest too deep at {conf}")
    try:
        text = conf.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise PremortemError(f"cannot read Apache config {conf}: {exc.strerror}") from None
    lines = _logical_lines(text)
    root = server_root or _server_root(lines, Path("/etc/apache2"))
    out: list[str] = []
    for line in lines:
        match = _DIRECTIVE.match(line)
        if (
            match
            and not match.group(2)
            and match.group(3).lower() in ("include", "includeoptional")
        ):
            optional = match.group(3).lower() == "includeoptional"
            pattern = match.group(4).strip().strip('"')
            if not os.path.isabs(pattern):
                pattern = str(root / pattern)
            found = sorted(glob.glob(pattern))
            if os.path.isdir(pattern):
                found = sorted(glob.glob(os.path.join(pattern, "*")))
            if not found and not optional and not glob.has_magic(pattern):
                raise PremortemError(f"{conf}: Include {pattern} does not exist")
            for included in found:
                if os.path.isfile(included):
                    out.extend(flatten_apache_config(Path(included), root, depth + 1))
            continue
        out.append(line)
    return out


def _replace_path(value: str, old: str, new: str) -> str:
    """Replace the path `old` (and anything under it) by `new` inside a directive's arguments."""
    old = old.rstrip("/")
    return re.sub(re.escape(old) + r"(?=[/\"'\s>]|$)", new.replace("\\", "\\\\"), value)


def stage_apache_config(
    config: SiteConfig, release: Path, stage_dir: Path, port: int
) -> tuple[str, Path]:
    """The derived config text and the ServerRoot to run it with."""
    conf = Path(config.server_config)
    lines = flatten_apache_config(conf)
    server_root = _server_root(lines, Path("/etc/apache2"))
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
    try:
        parent = psutil.Process(pid)
        children = parent.children(recursive=True)
    except psutil.NoSuchProcess:
        return
    try:
        parent.send_signal(signal.SIGTERM)
    except psutil.NoSuchProcess:
        return
    _gone, alive = psutil.wait_procs([parent, *children], timeout=timeout)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()


def stop_leftover_stage(stage_dir: Path) -> bool:
    """Stop a stage server a killed deploy left running; True if there was one."""
    pid_file = stage_dir / "httpd.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return False
    stopped = False
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


def _fatal_lines(error_log: Path) -> list[str]:
    try:
        text = error_log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    fatals: list[str] = []
    for line in text.splitlines():
        match = PHP_FATAL.search(line)
        if match:
            # PHP logs the stack trace on the same line with literal "\n": keep the message.
            message = line[match.start() :].split("\\n", 1)[0][:300]
            fatals.append(redact(message))  # they reach events and output
    return fatals


def smoke_request(
    client: httpx.Client, base: str, path: str, host_header: str | None
) -> SmokeResult:
    started = time.monotonic()
    headers = {"Host": host_header} if host_header else {}
    try:
        response = client.get(base.rstrip("/") + "/" + path.lstrip("/"), headers=headers)
    except httpx.HTTPError as exc:
        return SmokeResult(path, None, time.monotonic() - started, type(exc).__name__)
    return SmokeResult(path, response.status_code, time.monotonic() - started)


def run_stage(
    config: SiteConfig, release: Path, state_dir: Path, *, timeout: float = 20.0
) -> StageResult:
    """Start the stage server for `release`, smoke-test it, stop it (always)."""
    if config.server != "apache":
        raise PremortemError(
            f"staging a {config.server!r} site is not supported yet; use --no-stage"
        )
    if not config.server_config:
        raise PremortemError("premortem.toml has no server_config: cannot derive a stage")
    stage_dir = state_dir / "stage"
    stage_dir.mkdir(parents=True, exist_ok=True)
    stop_leftover_stage(stage_dir)
    for name in ("error.log", "access.log"):
        (stage_dir / name).unlink(missing_ok=True)
    port = free_port()
    text, _root = stage_apache_config(config, release, stage_dir, port)
    conf = stage_dir / "stage.conf"
    conf.write_text(text, encoding="utf-8")
    command = apache_command(conf)
    env = apache_env(conf)
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
    start = subprocess.run(
        [*command, "-k", "start"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if start.returncode != 0:
        raise PremortemError(f"the stage server did not start: {start.stderr.strip()[-500:]}")
    result = StageResult(port=port)
    try:
        _wait_listening(port, stage_dir / "httpd.pid", timeout)
        host = urlsplit(config.url).netloc or None
        with httpx.Client(timeout=timeout, follow_redirects=False, headers=PROBE_HEADERS) as client:
            for path in config.smoke_paths or ["/"]:
                result.smoke.append(smoke_request(client, f"http://127.0.0.1:{port}", path, host))
        result.fatals = _fatal_lines(stage_dir / "error.log")
    finally:
        try:
            pid = int((stage_dir / "httpd.pid").read_text().strip())
            _stop_pid(pid)
        except (OSError, ValueError):
            pass
        (stage_dir / "httpd.pid").unlink(missing_ok=True)
    return result
