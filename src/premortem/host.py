"""The machine premortem looks at: processes, sockets, limits, services, identity and the clock.

Collectors reach the outside world through one `Host` passed down from `main()`, so a test can
hand them a `RecordedHost` (processes and sockets as data) and get the same answer on any
machine, whatever runs on it. `LocalHost` is the real one (psutil, os, time). Read-only.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import psutil


@dataclass(frozen=True)
class ProcessInfo:
    """One process as collectors need it (a zombie has exited: it serves nothing)."""

    pid: int
    ppid: int
    name: str
    cmdline: tuple[str, ...] = ()
    username: str = ""
    zombie: bool = False


@dataclass(frozen=True)
class ListeningSocket:
    """A TCP socket in LISTEN state; `pid` is None when the kernel does not say whose."""

    pid: int | None
    ip: str
    port: int


@dataclass(frozen=True)
class DescriptorUse:
    """A process's open descriptors (None: may not be counted) and its soft RLIMIT_NOFILE."""

    open_fds: int | None
    soft_limit: int


# The server and database programs whose presence says what is installed.
SERVICE_PROGRAMS = ("apache2", "httpd", "apache2ctl", "apachectl", "nginx", "mariadbd", "mysqld")


@dataclass(frozen=True)
class ServiceManager:
    """How this machine starts services, and which server programs it has.

    `systemd` when /run/systemd/system exists (systemctl works); else `service_tool`
    (/usr/sbin/service) runs the SysV scripts named in `init_scripts` (/etc/init.d);
    `programs` are the absolute paths of the server binaries found (apache2, nginx, php-fpm...).
    """

    systemd: bool = False
    service_tool: str = ""
    init_scripts: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()

    def command(self, service: str, verb: str, direct: str) -> str:
        """`verb` (start, reload, restart) `service` the way this host can; `direct` (the
        program itself) when it has neither systemd nor an init script for it."""
        if self.systemd:
            return f"systemctl {verb} {service}"
        if self.service_tool and service in self.init_scripts:
            return f"service {service} {verb}"
        return direct

    def program(self, *names: str) -> str:
        """The path of the first of `names` this host has ("" when none)."""
        for name in names:
            for path in self.programs:
                if os.path.basename(path) == name:
                    return path
        return ""


@dataclass(frozen=True)
class CommandResult:
    """What a read-only check command (a config test) printed and how it exited."""

    command: tuple[str, ...]
    returncode: int
    output: str


class Host(ABC):
    """What collectors may ask of a machine. Every method answers; none raises for a
    process that vanished or that may not be inspected (it answers empty instead)."""

    @abstractmethod
    def processes(self) -> list[ProcessInfo]: ...

    @abstractmethod
    def listening(self) -> list[ListeningSocket]: ...

    @abstractmethod
    def environ(self, pid: int) -> dict[str, str]: ...

    @abstractmethod
    def descriptors(self, pid: int) -> DescriptorUse | None: ...

    @abstractmethod
    def stderr_file(self, pid: int) -> str: ...

    def stdout_file(self, pid: int) -> str:
        """The file a process writes its stdout to ("" when not a file, or unknown)."""
        return ""

    @abstractmethod
    def memory(self) -> tuple[int, int]:
        """(total, available) bytes of memory."""

    @abstractmethod
    def service_manager(self) -> ServiceManager: ...

    @abstractmethod
    def run_check(self, command: tuple[str, ...], env: dict[str, str]) -> CommandResult | None:
        """Run a read-only check (`nginx -t`, `apache2ctl -t`); None when it cannot run."""

    @abstractmethod
    def is_root(self) -> bool: ...

    @abstractmethod
    def now(self) -> float: ...

    def process(self, pid: int) -> ProcessInfo | None:
        return next((p for p in self.processes() if p.pid == pid), None)

    def descendants(self, pid: int) -> list[ProcessInfo]:
        """Every living process below `pid` (children, their children...)."""
        by_parent: dict[int, list[ProcessInfo]] = {}
        for proc in self.processes():
            by_parent.setdefault(proc.ppid, []).append(proc)
        found: list[ProcessInfo] = []
        todo = [pid]
        while todo:
            for child in by_parent.get(todo.pop(), []):
                if child.pid not in (p.pid for p in found):
                    found.append(child)
                    todo.append(child.pid)
        return [p for p in found if not p.zombie]

    def top_of_program(self, pid: int) -> ProcessInfo | None:
        """The topmost ancestor of `pid` running the same program: the master of a worker."""
        by_pid = {p.pid: p for p in self.processes()}
        proc = by_pid.get(pid)
        while proc is not None:
            parent = by_pid.get(proc.ppid)
            if parent is None or parent.name != proc.name:
                return proc
            proc = parent
        return None


class LocalHost(Host):
    """This machine, through psutil and os."""

    def processes(self) -> list[ProcessInfo]:
        found = []
        for proc in psutil.process_iter(["ppid", "name", "cmdline", "username", "status"]):
            info = proc.info
            found.append(
                ProcessInfo(
                    pid=proc.pid,
                    ppid=info.get("ppid") or 0,
                    name=info.get("name") or "",
                    cmdline=tuple(info.get("cmdline") or ()),
                    username=info.get("username") or "",
                    zombie=info.get("status") == psutil.STATUS_ZOMBIE,
                )
            )
        return found

    def listening(self) -> list[ListeningSocket]:
        try:
            connections = psutil.net_connections(kind="inet")
        except (psutil.Error, OSError):
            return []
        return [
            ListeningSocket(c.pid, c.laddr.ip, c.laddr.port)
            for c in connections
            if c.status == psutil.CONN_LISTEN and c.laddr
        ]

    def environ(self, pid: int) -> dict[str, str]:
        try:
            return dict(psutil.Process(pid).environ())
        except (psutil.Error, OSError):
            return {}

    def descriptors(self, pid: int) -> DescriptorUse | None:
        # /proc/PID/limits is world-readable; prlimit() needs CAP_SYS_RESOURCE for another
        # user's process, which root lacks in many containers.
        try:
            with open(f"/proc/{pid}/limits", encoding="ascii") as limits:
                soft = soft_open_files(limits.read())
        except OSError:
            return None
        if soft is None:
            return None
        try:
            open_fds: int | None = psutil.Process(pid).num_fds()
        except (psutil.Error, OSError):
            open_fds = None
        return DescriptorUse(open_fds, soft)

    def stderr_file(self, pid: int) -> str:
        return _open_file(pid, 2)

    def stdout_file(self, pid: int) -> str:
        return _open_file(pid, 1)

    def memory(self) -> tuple[int, int]:
        memory = psutil.virtual_memory()
        return memory.total, memory.available

    def service_manager(self) -> ServiceManager:
        try:
            scripts = tuple(sorted(os.listdir("/etc/init.d")))
        except OSError:
            scripts = ()
        found = [shutil.which(name, path=PROGRAM_PATH) for name in SERVICE_PROGRAMS]
        found += sorted(glob.glob("/usr/sbin/php-fpm*"))
        return ServiceManager(
            systemd=os.path.isdir("/run/systemd/system"),
            service_tool=shutil.which("service", path=PROGRAM_PATH) or "",
            init_scripts=scripts,
            programs=tuple(path for path in found if path),
        )

    def run_check(self, command: tuple[str, ...], env: dict[str, str]) -> CommandResult | None:
        try:
            proc = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=CHECK_TIMEOUT,
                env={"PATH": PROGRAM_PATH, **env},
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return CommandResult(command, proc.returncode, proc.stdout + proc.stderr)

    def is_root(self) -> bool:
        return os.geteuid() == 0

    def now(self) -> float:
        return time.time()


PROGRAM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CHECK_TIMEOUT = 10.0


def soft_open_files(limits: str) -> int | None:
    """The soft "Max open files" of a /proc/PID/limits text (None: absent or unlimited)."""
    for line in limits.splitlines():
        if line.startswith("Max open files"):
            soft = line[len("Max open files") :].split()[0]
            return int(soft) if soft.isascii() and soft.isdigit() else None
    return None


@dataclass
class RecordedHost(Host):
    """A machine given as data: what tests and recorded evidence replay against."""

    procs: list[ProcessInfo] = field(default_factory=list)
    sockets: list[ListeningSocket] = field(default_factory=list)
    environments: dict[int, dict[str, str]] = field(default_factory=dict)
    fds: dict[int, DescriptorUse] = field(default_factory=dict)
    stderr_files: dict[int, str] = field(default_factory=dict)
    stdout_files: dict[int, str] = field(default_factory=dict)
    root: bool = False
    clock: float = 1_800_000_000.0
    memory_bytes: tuple[int, int] = (8 << 30, 4 << 30)
    services: ServiceManager = field(default_factory=ServiceManager)
    # Config-test results by program name ("nginx", "apache2ctl"); absent: cannot run.
    checks: dict[str, CommandResult] = field(default_factory=dict)

    def processes(self) -> list[ProcessInfo]:
        return list(self.procs)

    def listening(self) -> list[ListeningSocket]:
        return list(self.sockets)

    def environ(self, pid: int) -> dict[str, str]:
        return dict(self.environments.get(pid, {}))

    def descriptors(self, pid: int) -> DescriptorUse | None:
        return self.fds.get(pid)

    def stderr_file(self, pid: int) -> str:
        return self.stderr_files.get(pid, "")

    def stdout_file(self, pid: int) -> str:
        return self.stdout_files.get(pid, "")

    def memory(self) -> tuple[int, int]:
        return self.memory_bytes

    def service_manager(self) -> ServiceManager:
        return self.services

    def run_check(self, command: tuple[str, ...], env: dict[str, str]) -> CommandResult | None:
        recorded = self.checks.get(os.path.basename(command[0]))
        return CommandResult(command, recorded.returncode, recorded.output) if recorded else None

    def is_root(self) -> bool:
        return self.root

    def now(self) -> float:
        return self.clock


def _open_file(pid: int, fd: int) -> str:
    """The regular file a process has open as descriptor `fd` ("" if none or unknown)."""
    try:
        for opened in psutil.Process(pid).open_files():
            if opened.fd == fd:
                return str(opened.path)
    except (psutil.Error, OSError):
        return ""
    return ""
