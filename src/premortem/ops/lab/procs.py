"""Process and port helpers for the lab: PID files, waiting for exit, free ports.

The lab stops exactly what it started: every daemon writes a PID file under the lab dir,
and stopping means signalling that PID (and waiting for it and its children to go).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import psutil

from premortem.errors import PremortemError

if TYPE_CHECKING:
    from premortem.ops.lab.layout import LabPaths


def read_pid(pid_file: Path) -> int | None:
    """The PID in a PID file, or None when the file is missing or malformed."""
    try:
        text = pid_file.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def is_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (PID 1 here may not reap)."""
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def running_pid(pid_file: Path, exe_names: tuple[str, ...]) -> int | None:
    """The PID from pid_file if that process is alive and is one of exe_names.

    Checking the name guards against a stale PID file whose number was reused.
    """
    pid = read_pid(pid_file)
    if pid is None or not is_alive(pid):
        return None
    try:
        name = psutil.Process(pid).name()
    except psutil.NoSuchProcess:
        return None
    return pid if name in exe_names else None


T = TypeVar("T")


def living_child_pids(parent: int | None) -> list[int]:
    """The direct children (a server master's workers) of parent that have not exited; []
    when it is gone. A worker that exited is a zombie until its master reaps it: listed by
    children(), serving nothing."""
    if parent is None:
        return []
    try:
        children = psutil.Process(parent).children()
    except psutil.NoSuchProcess:
        return []
    living = []
    for child in children:
        with contextlib.suppress(psutil.Error):
            if child.status() != psutil.STATUS_ZOMBIE:
                living.append(child.pid)
    return living


def wait_for(probe: Callable[[], T | None], timeout: float, interval: float = 0.025) -> T | None:
    """Call probe until it returns something (returned) or timeout seconds pass (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() >= deadline:
            return value or None
        time.sleep(interval)


def process_tree(pid: int) -> list[int]:
    """pid and all its live descendants."""
    try:
        parent = psutil.Process(pid)
        return [pid, *(c.pid for c in parent.children(recursive=True))]
    except psutil.NoSuchProcess:
        return []


def _reap(pid: int) -> None:
    # Our own children (tests start daemons from the pytest process) become zombies until
    # waited for; reap them so they do not count as running.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait until none of pids is alive; return those still alive after timeout."""
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive:
        for pid in alive:
            _reap(pid)
        alive = [pid for pid in alive if is_alive(pid)]
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return alive


def terminate(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM pid, wait for it and its children; SIGKILL whatever is left after timeout."""
    tree = process_tree(pid)
    if not tree:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    left = wait_gone(tree, timeout)
    for straggler in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(straggler, signal.SIGKILL)
    wait_gone(left, 5.0)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on host:port (we can bind it ourselves)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on host that nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


def wait_listening(port: int, timeout: float, host: str = "127.0.0.1") -> bool:
    """Poll until something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) == 0:
                return True
        time.sleep(0.05)
    return False


def launch_listening(
    label: str,
    command: list[str],
    address: tuple[str, int],
    pid: Callable[[], int | None],
    pid_file: Path,
    where: str = "",
    log_hint: str = "",
) -> int:
    """Run `command`, which puts a daemon in the background (its own session); the
    daemon's PID once it listens on `address` and `pid()` finds it. Failures are a
    PremortemError naming `label`, `where` it runs (" in NAMESPACE") and `log_hint`."""
    proc = subprocess.run(
        command, capture_output=True, text=True, check=False, start_new_session=True
    )
    if proc.returncode != 0:
        detail = (proc.stdout + proc.stderr).strip()
        raise PremortemError(f"{label} did not start{where}: {detail}")
    host, port = address
    if not wait_listening(port, 10, host=host):
        raise PremortemError(f"{label} does not listen on {host}:{port}{log_hint}")
    started = wait_for(pid, 5)
    if started is None:
        raise PremortemError(f"{label} started{where} but wrote no PID to {pid_file}")
    return started


def server_env() -> dict[str, str]:
    """The environment the lab's servers run with: the caller's PATH, the C locale."""
    return {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LANG": "C"}


def run_server_command(
    command: list[str], env: dict[str, str], *, new_session: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run a server binary (start it, test its config), its output captured for messages."""
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        env=env,
        start_new_session=new_session,
    )


def start_daemon(
    name: str,
    pid_file: Path,
    running: Callable[[], int | None],
    prepare: Callable[[], None],
    launch: Callable[[], subprocess.CompletedProcess[str]],
    ready: Callable[[], int | None],
    not_ready: str,
) -> int:
    """Start one of the lab's daemons unless `running()` already finds it; its PID once
    `ready()` gives one. A launch that fails or a daemon that never gets ready is a clear
    PremortemError (`not_ready` says where to look)."""
    existing = running()
    if existing is not None:
        return existing
    prepare()
    pid_file.unlink(missing_ok=True)
    proc = launch()
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise PremortemError(f"the lab's {name} did not start:\n{detail}")
    started = ready()
    if started is None:
        raise PremortemError(not_ready)
    return started


def stop_daemon(pid_file: Path, running: int | None) -> None:
    """Stop a daemon (and its children) the lab started; no-op when it is not running."""
    if running is not None:
        terminate(running)
    pid_file.unlink(missing_ok=True)


@dataclass(frozen=True)
class LabDaemon:
    """One of the lab's daemons, known by its PID file and program names."""

    label: str
    pid_file: Callable[[LabPaths], Path]
    names: tuple[str, ...]

    def pid(self, paths: LabPaths) -> int | None:
        """The running daemon's PID (None when its PID file names no such process)."""
        return running_pid(self.pid_file(paths), self.names)

    def worker_pids(self, paths: LabPaths) -> list[int]:
        return living_child_pids(self.pid(paths))

    def stop(self, paths: LabPaths) -> None:
        """Stop it (and its children) by its PID file; no-op when it is not running."""
        stop_daemon(self.pid_file(paths), self.pid(paths))

    def start(
        self,
        paths: LabPaths,
        *,
        prepare: Callable[[], None],
        launch: Callable[[], subprocess.CompletedProcess[str]],
        ready: Callable[[], int | None] | None = None,
        not_ready: str,
    ) -> int:
        """start_daemon() for this daemon; ready by default: its PID file names it."""
        return start_daemon(
            self.label,
            self.pid_file(paths),
            running=lambda: self.pid(paths),
            prepare=prepare,
            launch=launch,
            ready=ready or (lambda: wait_for(lambda: self.pid(paths), 10)),
            not_ready=not_ready,
        )

    def replace_workers(
        self,
        paths: LabPaths,
        check: Callable[[LabPaths], None],
        restart: Callable[[int], None],
        timeout: float,
        after: str = "a reload",
        *,
        new_workers: bool = True,
    ) -> bool:
        """Have the running master re-read its config (`restart(master)`), once `check`
        (its config test) passes, and wait until its old workers are gone and (with
        `new_workers`) new ones run; False when it is not running. A reload with a config
        that does not parse can kill a daemon."""
        master = self.pid(paths)
        if master is None:
            return False
        check(paths)
        old_workers = self.worker_pids(paths)
        restart(master)
        left = wait_gone(old_workers, timeout)
        if left:
            raise PremortemError(
                f"the lab's {self.label} workers {left} did not leave after {after}"
            )
        # Between the old workers' exit and the new ones' fork the master serves nobody, and
        # its unreaped old workers still look like children: a diagnose started there found
        # no worker to trace (CI, under load). Done means new, living workers.
        old = set(old_workers)
        if new_workers and not wait_for(
            lambda: [pid for pid in living_child_pids(master) if pid not in old],
            timeout,
            interval=0.02,
        ):
            raise PremortemError(f"the lab's {self.label} started no new workers after {after}")
        return True


def signaller(sig: signal.Signals) -> Callable[[int], None]:
    """What sends `sig` to a PID (a process already gone is no error)."""

    def send(pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)

    return send
